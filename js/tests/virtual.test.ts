import { describe, expect, it } from "vitest";
import { MAX_DOM_ROWS, OVERSCAN, visibleWindow } from "../src/virtual";

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
});
