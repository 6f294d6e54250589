import { beforeEach, describe, expect, it } from "vitest";
import { type Histogram, Timeline, barText, layoutBars } from "../src/timeline";

const MINUTE = 60_000;
const FROM = Date.UTC(2026, 0, 1, 12);

function drawn(hist: Histogram): HTMLElement {
  const timeline = new Timeline(() => {});
  document.body.append(timeline.el);
  timeline.set(hist);
  return timeline.el;
}

/** Hovers the plot at pixel `x` (happy-dom lays nothing out: the plot's box starts at 0). */
function hover(el: HTMLElement, x: number): void {
  el.querySelector("svg")!.dispatchEvent(new MouseEvent("pointermove", { clientX: x, bubbles: true }));
}

const STACKED: Histogram = {
  starts: [FROM, FROM + MINUTE],
  counts: [10, 4],
  interval: MINUTE,
  from: FROM,
  to: FROM + 2 * MINUTE,
  levels: { info: [6, 4], ERROR: [3, 0], unknown: [1, 0] },
};

beforeEach(() => {
  document.body.textContent = "";
});

describe("timeline", () => {
  it("stacks each bar by level, most severe at the bottom, heights in proportion to the counts", () => {
    const bars = layoutBars(STACKED, 600);
    expect(bars).toHaveLength(2);
    const first = bars[0]!.segments;
    // Bottom up: error (as written), info, then the entries with no level.
    expect(first.map((s) => s.name)).toEqual(["ERROR", "info", "unknown"]);
    expect(first[0]!.y).toBeGreaterThan(first[1]!.y);
    expect(first[1]!.y).toBeGreaterThan(first[2]!.y);
    // 3 errors, 6 infos, 1 unknown in the tallest bar.
    expect(first[1]!.height / first[0]!.height).toBeCloseTo(2);
    expect(first[2]!.height / first[0]!.height).toBeCloseTo(1 / 3);
    expect(bars[1]!.segments.map((s) => s.name)).toEqual(["info"]);
    expect(barText(STACKED, bars[0]!, true)).toBe("10 rows from 2026-01-01 12:00:00: 3 ERROR, 6 info, 1 unknown");
  });

  it("draws one path per level, coloured like the table's levels, whatever the number of bars", () => {
    const el = drawn(STACKED);
    const paths = [...el.querySelectorAll<SVGPathElement>("path.lf-bar")];
    expect(paths.map((p) => p.dataset.level)).toEqual(["ERROR", "info", "unknown"]);
    expect(paths.map((p) => p.getAttribute("class"))).toEqual(["lf-bar lf-bar-error", "lf-bar lf-bar-info", "lf-bar lf-bar-unknown"]);
    // The info path holds both buckets' info segments.
    expect(paths[1]!.getAttribute("d")!.match(/M/g)).toHaveLength(2);
    expect(el.querySelector("svg")!.dataset.bars).toBe("2");
  });

  it("says a bar's count and split when hovered, and nothing between bars", () => {
    const el = drawn(STACKED);
    const tip = el.querySelector<HTMLElement>(".lf-timeline-tip")!;
    expect(tip.hidden).toBe(true);
    hover(el, 100);
    expect(tip.hidden).toBe(false);
    expect(tip.textContent).toMatch(/^10 rows from [\d-]+ [\d:]+: 3 ERROR, 6 info, 1 unknown$/);
    expect(el.title).toBe(""); // no native hint beside the bar's own tooltip
    hover(el, 450);
    expect(tip.textContent).toMatch(/^4 rows from [\d-]+ [\d:]+: 4 info$/);
    el.querySelector("svg")!.dispatchEvent(new MouseEvent("pointerleave"));
    expect(tip.hidden).toBe(true);
    expect(el.title).toMatch(/^Drag across/);
  });

  it("draws one plain bar per bucket when the counts are not split by level", () => {
    const el = drawn({ starts: [FROM], counts: [5], interval: MINUTE, from: FROM, to: FROM + MINUTE });
    const paths = [...el.querySelectorAll("path.lf-bar")];
    expect(paths.map((p) => p.getAttribute("class"))).toEqual(["lf-bar"]);
    hover(el, 10);
    expect(el.querySelector(".lf-timeline-tip")!.textContent).toMatch(/^5 rows from [\d-]+ [\d:]+$/);
  });

  it("draws without reading the page's layout (a timeline coming after its rows forced a whole-page layout)", () => {
    const timeline = new Timeline(() => {});
    document.body.append(timeline.el);
    let reads = 0;
    for (const name of ["clientWidth", "offsetWidth"]) {
      Object.defineProperty(timeline.el, name, { get: () => (reads++, 800) });
    }
    const getBox = timeline.el.getBoundingClientRect.bind(timeline.el);
    timeline.el.getBoundingClientRect = () => (reads++, getBox());
    timeline.set(STACKED);
    expect(timeline.el.querySelectorAll("path.lf-bar")).toHaveLength(3);
    expect(reads).toBe(0);
  });
});
