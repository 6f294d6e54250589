import { describe, expect, it } from "vitest";
import { nextSort, sortIndex } from "../src/sort";

describe("sorting", () => {
  it("orders numbers both ways with nulls last and ties stable", () => {
    const values = [3, null, 1, 3, 2];
    expect(Array.from(sortIndex(values, "asc"))).toEqual([2, 4, 0, 3, 1]);
    expect(Array.from(sortIndex(values, "desc"))).toEqual([0, 3, 4, 2, 1]);
  });

  it("orders strings", () => {
    expect(Array.from(sortIndex(["b", "a", null, "c"], "asc"))).toEqual([1, 0, 3, 2]);
  });

  it("sorts typed arrays (timestamps) of 100,000 rows", () => {
    const values = new Float64Array(100_000).map((_, i) => (i * 7919) % 100_000);
    const order = sortIndex(values, "asc");
    let sorted = true;
    for (let i = 1; i < order.length; i++) sorted &&= values[order[i]!]! >= values[order[i - 1]!]!;
    expect(sorted).toBe(true);
  });

  it("cycles a header through ascending, descending and unsorted", () => {
    const asc = nextSort(null, "level");
    expect(asc).toEqual({ column: "level", direction: "asc" });
    const desc = nextSort(asc, "level");
    expect(desc).toEqual({ column: "level", direction: "desc" });
    expect(nextSort(desc, "level")).toBeNull();
    expect(nextSort(desc, "message")).toEqual({ column: "message", direction: "asc" });
  });
});
