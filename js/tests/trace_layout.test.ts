import { describe, expect, it } from "vitest";
import {
  type SpanInput,
  axisTicks,
  buildLayout,
  deepestLine,
  place,
  visibleLines,
} from "../src/trace/layout";

function span(spanId: string, parentId: string | null, start: number, end: number, extra: Partial<SpanInput> = {}): SpanInput {
  return { spanId, parentId, start, end, kind: "span", service: "api", ...extra };
}

/** Names of the lines in order, indented by depth: what the waterfall's name column reads. */
function outline(spans: SpanInput[]): string[] {
  return buildLayout(spans).lines.map((l) => `${"  ".repeat(l.depth)}${spans[l.row]!.spanId}`);
}

describe("trace layout", () => {
  it("nests spans under their parents, children in start order, whatever the row order", () => {
    const spans = [
      span("db2", "handler", 60, 80),
      span("root", null, 0, 100),
      span("handler", "root", 10, 90),
      span("db1", "handler", 20, 40),
      span("auth", "root", 2, 8),
    ];
    expect(outline(spans)).toEqual(["root", "  auth", "  handler", "    db1", "    db2"]);
    const layout = buildLayout(spans);
    expect(layout.lines.map((l) => l.descendants)).toEqual([4, 0, 2, 0, 0]);
    expect(layout.lines[2]!.parent).toBe(0);
    expect([layout.from, layout.to]).toEqual([0, 100]);
  });

  it("shows an orphan (its parent is not in the result) as a root line, flagged", () => {
    const spans = [span("root", null, 0, 100), span("lost", "gone", 30, 50), span("child", "lost", 35, 45)];
    const layout = buildLayout(spans);
    expect(outline(spans)).toEqual(["root", "lost", "  child"]);
    expect(layout.lines.map((l) => l.orphan)).toEqual([false, true, false]);
  });

  it("keeps a span that outlives its parent at its own times and widens the axis to it", () => {
    const spans = [span("root", null, 0, 100), span("background", "root", 50, 300)];
    const layout = buildLayout(spans);
    const child = layout.lines[1]!;
    expect([child.start, child.end, child.shift, child.outlives]).toEqual([50, 300, 0, true]);
    expect(layout.to).toBe(300);
  });

  it("shifts a shorter child from another service that falls outside its parent (clock skew), with its subtree", () => {
    const spans = [
      span("client", null, 1000, 1100, { service: "web" }),
      // The inventory service's clock runs 500 ms behind: its server span starts before the call that made it.
      span("server", "client", 520, 580, { service: "inventory" }),
      span("query", "server", 530, 560, { service: "inventory" }),
    ];
    const layout = buildLayout(spans);
    const [client, server, query] = layout.lines as [typeof layout.lines[0], typeof layout.lines[0], typeof layout.lines[0]];
    expect(server.start).toBeGreaterThanOrEqual(client.start);
    expect(server.end).toBeLessThanOrEqual(client.end);
    expect(server.start).toBe(1020); // centred: (100 - 60) / 2 after the client's start
    expect(server.shift).toBe(500);
    expect([query.start, query.end]).toEqual([1030, 1060]);
    expect(query.outlives).toBe(false);
    expect([layout.from, layout.to]).toEqual([1000, 1100]);
  });

  it("does not shift a child of the same service (its clock is the parent's)", () => {
    const spans = [span("root", null, 100, 200), span("early", "root", 90, 150)];
    const line = buildLayout(spans).lines[1]!;
    expect([line.start, line.shift]).toEqual([90, 0]);
  });

  it("draws logs as ticks on their span's line, and logs without a span as lines", () => {
    const spans = [
      span("root", null, 0, 100),
      span("log1", "root", 40, 40, { kind: "log" }),
      span("log2", "nowhere", 60, 60, { kind: "log" }),
    ];
    const layout = buildLayout(spans);
    expect(layout.lines.map((l) => spans[l.row]!.spanId)).toEqual(["root", "log2"]);
    expect(layout.lines[0]!.ticks).toEqual([1]);
    expect(layout.tickCount).toBe(1);
  });

  it("marks the critical path: the chain the request waited for, not parallel work that ended earlier", () => {
    const spans = [
      span("run", null, 0, 100),
      span("chat1", "run", 0, 30),
      span("tool", "run", 30, 40),
      span("chat2", "run", 40, 100),
      span("fast-parallel", "run", 45, 60),
      span("inside", "chat2", 50, 90),
    ];
    const layout = buildLayout(spans);
    const critical = layout.lines.filter((l) => l.critical).map((l) => spans[l.row]!.spanId).sort();
    expect(critical).toEqual(["chat1", "chat2", "inside", "run", "tool"]);
  });

  it("folds a subtree and shows it again", () => {
    const spans = [span("root", null, 0, 100), span("a", "root", 0, 50), span("a1", "a", 1, 2), span("b", "root", 50, 90)];
    const layout = buildLayout(spans);
    expect([...visibleLines(layout, new Set([1]))]).toEqual([0, 1, 3]);
    expect([...visibleLines(layout, new Set([0]))]).toEqual([0]);
    expect([...visibleLines(layout, new Set())]).toEqual([0, 1, 2, 3]);
  });

  it("gives every span of a parent loop one line and survives a 5,000-deep chain", () => {
    const loop = [span("a", "b", 0, 10), span("b", "a", 1, 5)];
    expect(buildLayout(loop).lines).toHaveLength(2);
    const chain = Array.from({ length: 5000 }, (_, i) => span(`s${i}`, i ? `s${i - 1}` : null, i, 10_000 - i));
    const layout = buildLayout(chain);
    expect(layout.lines).toHaveLength(5000);
    const deepest = layout.lines[deepestLine(layout)]!;
    expect(deepest.depth).toBe(4999);
    expect(layout.lines[0]!.descendants).toBe(4999);
  });

  it("places bars on the zoomed slice, clipping and hiding what lies outside", () => {
    expect(place(25, 75, 0, 100)).toEqual({ left: 0.25, width: 0.5, visible: true });
    expect(place(0, 100, 40, 60)).toEqual({ left: 0, width: 1, visible: true });
    expect(place(0, 10, 40, 60).visible).toBe(false);
  });

  it("labels the axis at round offsets from the trace's start", () => {
    expect(axisTicks(0, 1000, 0)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(axisTicks(1000, 1500, 1000, 5)).toEqual([0, 100, 200, 300, 400, 500]);
    expect(axisTicks(1230, 1260, 1000, 3)).toEqual([230, 240, 250, 260]);
  });
});
