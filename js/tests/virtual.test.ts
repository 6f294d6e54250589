import { describe, expect, it } from "vitest";
import { MAX_DOM_ROWS, MAX_SCROLL_HEIGHT, OVERSCAN, scrollHeight, visibleWindow } from "../src/virtual";

describe("virtual window", () => {
  it("renders the visible rows plus overscan at the top", () => {
    const w = visibleWindow(0, 260, 26, 100_000);
    expect(w.start).toBe(0);
    expect(w.end).toBe(11 + 2 * OVERSCAN);
    expect(w.offset).toBe(0);
  });

  it("follows the scroll position", () => {
    const w = visibleWindow(26 * 50_000, 260, 26, 100_000);
    expect(w.start).toBe(50_000 - OVERSCAN);
    expect(w.offset).toBe((50_000 - OVERSCAN) * 26);
  });

  it("stays bounded on a huge viewport and clamps at the end", () => {
    expect(visibleWindow(0, 100_000, 26, 100_000).end).toBe(MAX_DOM_ROWS);
    const last = visibleWindow(26 * 99_990, 260, 26, 100_000);
    expect(last.end).toBe(100_000);
  });

  it("is empty without rows", () => {
    expect(visibleWindow(0, 260, 26, 0)).toEqual({ start: 0, end: 0, offset: 0 });
  });

  it("reaches every row of a result taller than a browser can scroll", () => {
    const rows = 10_000_000;
    expect(scrollHeight(26, rows)).toBe(MAX_SCROLL_HEIGHT);
    const top = visibleWindow(0, 260, 26, rows);
    expect(top.start).toBe(0);
    expect(top.offset).toBe(0);
    const middle = visibleWindow((MAX_SCROLL_HEIGHT - 260) / 2, 260, 26, rows);
    expect(Math.abs(middle.start + OVERSCAN - rows / 2)).toBeLessThan(10);
    // The rows are drawn where the viewport is: the first visible row's top is at the scroll position.
    const firstVisibleTop = middle.offset + OVERSCAN * 26;
    expect(firstVisibleTop).toBeLessThanOrEqual((MAX_SCROLL_HEIGHT - 260) / 2);
    expect(firstVisibleTop).toBeGreaterThan((MAX_SCROLL_HEIGHT - 260) / 2 - 26);
    const bottom = visibleWindow(MAX_SCROLL_HEIGHT - 260, 260, 26, rows);
    expect(bottom.end).toBe(rows);
    // The last row ends at the bottom of the scroll area, not past it.
    expect(bottom.offset + (bottom.end - bottom.start) * 26).toBeLessThanOrEqual(MAX_SCROLL_HEIGHT + 26);
  });
});
