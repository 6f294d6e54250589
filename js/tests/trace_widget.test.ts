import { TimeUnit, map, tableFromArrays, tableToIPC, timestamp, utf8 } from "@uwdata/flechette";
import { beforeEach, describe, expect, it } from "vitest";
import { render } from "../src/widget";
import { BASE, FakeModel, flush } from "./helpers";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

function rowsIPC(): Uint8Array {
  const table = tableFromArrays(
    {
      start_timestamp: [BASE, BASE - 1000],
      span_name: ["POST /orders", "GET /health"],
      trace_id: [TRACE, null],
    },
    { types: { start_timestamp: timestamp(TimeUnit.MICROSECOND, "UTC") } },
  );
  return tableToIPC(table, { format: "stream" })!;
}

/** A request whose handler calls the inventory service, which fails deep inside; a log on the handler. */
function traceIPC(): Uint8Array {
  const spans = [
    // span_id, parent, start offset ms, end offset ms, kind, level, service, exception
    ["a", null, 0, 100, "span", 9, "web", null],
    ["b", "a", 5, 95, "span", 9, "web", null],
    ["c", "b", 10, 90, "span", 17, "inventory", "TimeoutError"],
    ["d", "c", 20, 80, "span", 17, "inventory", "TimeoutError"],
    ["l", "b", 50, 50, "log", 13, "web", null],
  ] as const;
  const table = tableFromArrays(
    {
      start_timestamp: spans.map((s) => BASE + s[2]),
      end_timestamp: spans.map((s) => BASE + s[3]),
      span_id: spans.map((s) => s[0]),
      parent_span_id: spans.map((s) => s[1]),
      kind: spans.map((s) => s[4]),
      level: Int32Array.from(spans.map((s) => s[5])),
      service_name: spans.map((s) => s[6]),
      span_name: spans.map((s) => `span ${s[0]}`),
      message: spans.map((s) => `message of ${s[0]}`),
      exception_type: spans.map((s) => s[7]),
      exception_message: spans.map((s) => (s[7] ? "could not lock the row" : null)),
      attributes: spans.map((s) => JSON.stringify({ sku: `sku-${s[0]}`, nested: { ok: true } })),
    },
    {
      types: {
        start_timestamp: timestamp(TimeUnit.MICROSECOND, "UTC"),
        end_timestamp: timestamp(TimeUnit.MICROSECOND, "UTC"),
      },
    },
  );
  return tableToIPC(table, { format: "stream" })!;
}

/** Two Loki lines: one with a trace id in its structured metadata (as OTLP logs have), one without. */
function lokiIPC(): Uint8Array {
  const table = tableFromArrays(
    {
      timestamp: [BASE, BASE - 1000],
      line: ["step 2 failed", "no trace here"],
      structured_metadata: [
        [
          ["detected_level", "error"],
          ["trace_id", TRACE],
        ],
        [["detected_level", "info"]],
      ],
    },
    { types: { timestamp: timestamp(TimeUnit.NANOSECOND, "UTC"), structured_metadata: map(utf8(), utf8()) } },
  );
  return tableToIPC(table, { format: "stream" })!;
}

async function setup(head = rowsIPC(), traceColumn = "trace_id"): Promise<{ model: FakeModel; el: HTMLElement }> {
  const model = new FakeModel({
    sql: "SELECT * FROM records",
    min_timestamp: "now-7d",
    max_timestamp: "",
    utc: true,
    local: false,
    revision: 1,
    trace_column: traceColumn,
    status: { state: "ready", rows: 2, min_timestamp: "now-7d", max_timestamp: "" },
    head, // the rows come with the result
    timeline: {},
  });
  const el = document.createElement("div");
  document.body.append(el);
  render({ model: model as never, el });
  Object.defineProperty(el.querySelector(".lf-scroll")!, "clientHeight", { value: 400, configurable: true });
  el.querySelector(".lf-scroll")!.dispatchEvent(new Event("scroll"));
  await flush();
  return { model, el };
}

beforeEach(() => {
  document.body.textContent = "";
});

describe("opening a trace from the table", () => {
  it("links only the cells that hold a trace id, and a click asks the kernel for that trace at the row's time", async () => {
    const { model, el } = await setup();
    const links = el.querySelectorAll<HTMLElement>(".lf-trace-link");
    expect(links).toHaveLength(1);
    links[0]!.click();
    expect(model.lastRequest()).toMatchObject({ type: "request", kind: "trace", trace_id: TRACE, at_ms: BASE });
    expect(el.querySelector<HTMLElement>(".lf-trace")!.hidden).toBe(false);
    expect(el.querySelector(".lf-trace")!.getAttribute("data-state")).toBe("loading");
  });

  it("draws the answer as a waterfall: nested lines, logs as ticks, failures marked, details on click", async () => {
    const { model, el } = await setup();
    el.querySelector<HTMLElement>(".lf-trace-link")!.click();
    model.reply({ type: "reply", id: model.lastRequest().id, ok: true, rows: 5, trace_id: TRACE }, [traceIPC()]);
    await flush();
    const pane = el.querySelector<HTMLElement>(".lf-trace")!;
    expect(pane.dataset.state).toBe("ready");
    const rows = [...pane.querySelectorAll<HTMLElement>(".lf-trace-row")];
    expect(rows.map((r) => r.dataset.depth)).toEqual(["0", "1", "2", "3"]);
    expect(rows.map((r) => r.querySelector(".lf-trace-label")!.textContent)).toEqual([
      "message of a",
      "message of b",
      "message of c",
      "message of d",
    ]);
    expect(rows[1]!.querySelectorAll(".lf-trace-log")).toHaveLength(1);
    // The service is named where the trace enters it: the root (web) and the call into inventory.
    expect(rows.map((r) => r.querySelector(".lf-trace-service")!.textContent)).toEqual(["web", "", "inventory", ""]);
    expect(rows[3]!.classList.contains("lf-trace-failed")).toBe(true);
    expect(rows[3]!.querySelector(".lf-trace-mark")!.textContent).toBe("⚠");
    expect(rows[3]!.querySelector(".lf-trace-span")!.classList.contains("lf-tl-error")).toBe(true);
    expect(pane.querySelector(".lf-trace-summary")!.textContent).toBe("4 spans · 1 log · 100 ms");

    rows[3]!.click();
    const detail = pane.querySelector<HTMLElement>(".lf-trace-detail")!;
    expect(detail.hidden).toBe(false);
    expect(detail.querySelector(".lf-trace-exception")!.textContent).toBe("TimeoutError: could not lock the row");
    expect(detail.querySelector(".lf-tree")).not.toBeNull();
    expect(detail.textContent).toContain("sku-d");

    // Folding the handler hides its subtree; unfolding shows it again.
    rows[1]!.querySelector<HTMLElement>(".lf-trace-toggle")!.click();
    expect(pane.querySelectorAll(".lf-trace-row")).toHaveLength(2);
    pane.querySelector<HTMLElement>('.lf-trace-row[data-line="1"] .lf-trace-toggle')!.click();
    expect(pane.querySelectorAll(".lf-trace-row")).toHaveLength(4);
  });

  it("shows the kernel's error in one sentence and closes", async () => {
    const { model, el } = await setup();
    el.querySelector<HTMLElement>(".lf-trace-link")!.click();
    model.reply({ type: "reply", id: model.lastRequest().id, ok: false, error: "'x' is not a trace id." });
    await flush();
    const pane = el.querySelector<HTMLElement>(".lf-trace")!;
    expect(pane.dataset.state).toBe("error");
    expect(pane.querySelector(".lf-trace-message-box")!.textContent).toBe("'x' is not a trace id.");
    pane.querySelector<HTMLElement>(".lf-trace-close")!.click();
    expect(pane.hidden).toBe(true);
  });

  it("offers 'Open trace' in the detail pane of a row with a trace id only", async () => {
    const { model, el } = await setup();
    const cells = el.querySelectorAll<HTMLElement>(".lf-tr .lf-cell");
    cells[1]!.click(); // span_name of the first row
    el.querySelector<HTMLElement>(".lf-open-trace")!.click();
    expect(model.lastRequest()).toMatchObject({ kind: "trace", trace_id: TRACE });
    el.querySelectorAll<HTMLElement>(".lf-tr")[1]!.children[1]!.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    expect(el.querySelector(".lf-open-trace")).toBeNull();
  });
});

/** Rows first..first+n of a large result, each of its own trace (the id ends in the row's number). */
function manyIPC(n: number, first: number): Uint8Array {
  const rows = Array.from({ length: n }, (_, k) => first + k);
  const table = tableFromArrays(
    {
      start_timestamp: rows.map((i) => BASE - i * 1000),
      span_name: rows.map((i) => `span ${i}`),
      trace_id: rows.map((i) => i.toString(16).padStart(32, "0")),
    },
    { types: { start_timestamp: timestamp(TimeUnit.MICROSECOND, "UTC") } },
  );
  return tableToIPC(table, { format: "stream" })!;
}

describe("opening a trace from a row that came by window", () => {
  it("asks for the trace of the row clicked, by its link or its detail's button after scrolling away", async () => {
    const { model, el } = await setup(manyIPC(200, 0));
    model.change("status", { state: "ready", rows: 100_000, min_timestamp: "now-7d", max_timestamp: "" });
    model.change("revision", 2);
    const scroller = el.querySelector<HTMLElement>(".lf-scroll")!;
    const jump = async (row: number): Promise<void> => {
      scroller.scrollTop = row * 26;
      scroller.dispatchEvent(new Event("scroll"));
      await new Promise((resolve) => requestAnimationFrame(resolve));
      await new Promise((resolve) => setTimeout(resolve, 60)); // the jump settles
      const request = model.lastRequest();
      expect(request).toMatchObject({ kind: "window", revision: 2 });
      const { offset, count } = request as { offset: number; count: number };
      model.reply({ type: "reply", id: request.id, ok: true, revision: 2, offset, count, rows: 100_000 }, [
        manyIPC(count, offset),
      ]);
      await flush();
    };
    await jump(60_000);
    const tr = el.querySelector<HTMLElement>(".lf-tr")!;
    const row = Number(tr.dataset.row);
    expect(row).toBeGreaterThan(59_000);
    const id = row.toString(16).padStart(32, "0");
    tr.querySelector<HTMLElement>(".lf-trace-link")!.click();
    expect(model.lastRequest()).toMatchObject({ kind: "trace", trace_id: id, at_ms: BASE - row * 1000 });
    // The detail's "Open trace" opens the row it was opened for, even once that row's window is dropped.
    (tr.children[1] as HTMLElement).click();
    for (let k = 1; k <= 12; k++) await jump(60_000 + k * 3_000);
    el.querySelector<HTMLElement>(".lf-open-trace")!.click();
    expect(model.lastRequest()).toMatchObject({ kind: "trace", trace_id: id });
  });
});

describe("opening a trace from a Loki line", () => {
  it("reads the trace id from the line's map column and asks for the trace at the line's time", async () => {
    const { model, el } = await setup(lokiIPC(), "structured_metadata");
    // The map cell stays a cell (a click shows the map); its detail offers "Open trace".
    expect(el.querySelectorAll(".lf-trace-link")).toHaveLength(0);
    const rows = el.querySelectorAll<HTMLElement>(".lf-tr");
    rows[0]!.children[2]!.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    expect(el.querySelector(".lf-detail-title")!.textContent).toBe("structured_metadata");
    el.querySelector<HTMLElement>(".lf-open-trace")!.click();
    expect(model.lastRequest()).toMatchObject({ kind: "trace", trace_id: TRACE, at_ms: BASE });
    // A line without a trace id offers none.
    rows[1]!.children[1]!.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    expect(el.querySelector(".lf-open-trace")).toBeNull();
  });
});

describe("zooming into a slice of the trace", () => {
  it("drags across the axis to show only that slice, and Reset zoom shows the whole trace again", async () => {
    const { model, el } = await setup();
    el.querySelector<HTMLElement>(".lf-trace-link")!.click();
    model.reply({ type: "reply", id: model.lastRequest().id, ok: true, rows: 5, trace_id: TRACE }, [traceIPC()]);
    await flush();
    const track = el.querySelector<HTMLElement>(".lf-trace-axis-track")!;
    // happy-dom has no layout: the axis is 1,000 px wide from x = 0, so x maps to 0.1 ms per px.
    track.getBoundingClientRect = () => ({ left: 0, top: 0, width: 1000, height: 26, right: 1000, bottom: 26, x: 0, y: 0, toJSON: () => ({}) });
    const bar = (line: number): HTMLElement =>
      el.querySelector<HTMLElement>(`.lf-trace-row[data-line="${line}"] .lf-trace-span`)!;
    expect(bar(0).style.left).toBe("0%");
    track.dispatchEvent(new MouseEvent("pointerdown", { clientX: 200, button: 0, bubbles: true }));
    window.dispatchEvent(new MouseEvent("pointermove", { clientX: 500 }));
    expect(el.querySelector<HTMLElement>(".lf-trace-selection")!.hidden).toBe(false);
    window.dispatchEvent(new MouseEvent("pointerup", { clientX: 600 }));
    // Now 20..60 ms of the trace fill the track: span d (20..80 ms) starts at the left edge, runs past the end.
    expect(el.querySelector<HTMLElement>(".lf-waterfall")!.dataset.zoomed).toBe("true");
    expect(bar(3).style.left).toBe("0%");
    expect(bar(3).style.width).toBe("100%");
    expect(bar(1).style.left).toBe("0%");
    const labels = [...el.querySelectorAll(".lf-trace-tick-label")].map((t) => t.textContent);
    expect(labels[0]).toBe("20 ms");
    const reset = el.querySelector<HTMLButtonElement>(".lf-trace-reset")!;
    expect(reset.hidden).toBe(false);
    reset.click();
    expect(bar(3).style.left).toBe("20%");
    expect(reset.hidden).toBe(true);
  });
});
