import { beforeEach, describe, expect, it } from "vitest";
import { type Histogram, Timeline } from "../src/timeline";

const MINUTE = 60_000;
const FROM = Date.UTC(2026, 0, 1, 12);

function drawn(hist: Histogram): HTMLElement {
  const timeline = new Timeline(() => {});
  document.body.append(timeline.el);
  timeline.set(hist);
  return timeline.el;
}

beforeEach(() => {
  document.body.textContent = "";
});

describe("timeline", () => {
  it("stacks each bar by level, most severe at the bottom, coloured like the table's levels", () => {
    const el = drawn({
      starts: [FROM, FROM + MINUTE],
      counts: [10, 4],
      interval: MINUTE,
      from: FROM,
      to: FROM + 2 * MINUTE,
      levels: { info: [6, 4], ERROR: [3, 0], unknown: [1, 0] },
    });
    const stacks = [...el.querySelectorAll(".lf-bar-stack")];
    expect(stacks).toHaveLength(2);
    const first = [...stacks[0]!.querySelectorAll<SVGRectElement>("rect")];
    // Bottom up: error (as written), info, then the entries with no level.
    expect(first.map((r) => r.dataset.level)).toEqual(["ERROR", "info", "unknown"]);
    expect(first.map((r) => r.getAttribute("class"))).toEqual(["lf-bar lf-bar-error", "lf-bar lf-bar-info", "lf-bar lf-bar-unknown"]);
    const ys = first.map((r) => Number(r.getAttribute("y")));
    expect(ys[0]).toBeGreaterThan(ys[1]!);
    expect(ys[1]).toBeGreaterThan(ys[2]!);
    // Heights in proportion to the counts: 3 errors, 6 infos, 1 unknown in the tallest bar.
    const heights = first.map((r) => Number(r.getAttribute("height")));
    expect(heights[1]! / heights[0]!).toBeCloseTo(2);
    expect(heights[2]! / heights[0]!).toBeCloseTo(1 / 3);
    expect(stacks[0]!.querySelector("title")!.textContent).toMatch(/^10 rows from .*: 3 ERROR, 6 info, 1 unknown$/);
    expect([...stacks[1]!.querySelectorAll("rect")].map((r) => r.dataset.level)).toEqual(["info"]);
  });

  it("draws one plain bar per bucket when the counts are not split by level", () => {
    const el = drawn({ starts: [FROM], counts: [5], interval: MINUTE, from: FROM, to: FROM + MINUTE });
    const rects = [...el.querySelectorAll(".lf-bar-stack rect")];
    expect(rects.map((r) => r.getAttribute("class"))).toEqual(["lf-bar"]);
    expect(el.querySelector(".lf-bar-stack title")!.textContent).toMatch(/^5 rows from [\d-]+ [\d:]+$/);
  });
});
