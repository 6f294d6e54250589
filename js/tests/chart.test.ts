import { TimeUnit, dictionary, float64, int32, int64, tableFromArrays, tableToIPC, timestamp, utf8 } from "@uwdata/flechette";
import { describe, expect, it } from "vitest";
import { decode } from "../src/arrow";
import { chooseAxes, colourOf, decimate, nearest, pivot, stack } from "../src/chart";
import { BASE, recordsIPC } from "./helpers";

/** A `time_bucket(...)`, service, count(*) result as the kernel sends it. */
function bucketsIPC(): Uint8Array {
  const table = tableFromArrays(
    {
      t: [BASE + 60_000, BASE, BASE, BASE + 60_000, BASE + 120_000],
      service_name: ["api", "api", "worker", "worker", "api"],
      n: [5, 3, 7, 1, 2],
      avg_ms: Float64Array.from([1.5, 2.5, 3.5, 4.5, 5.5]),
    },
    { types: { t: timestamp(TimeUnit.MICROSECOND, "UTC"), service_name: dictionary(utf8()), n: int64(), avg_ms: float64() } },
  );
  return tableToIPC(table, { format: "stream" })!;
}

describe("chooseAxes: what to draw from the result's Arrow schema", () => {
  it("takes the time column as x, every numeric column as y and the text column as the series", () => {
    const data = decode(bucketsIPC());
    expect(chooseAxes(data.columns)).toEqual({ x: "t", y: ["n", "avg_ms"], series: "service_name" });
  });

  it("splits Logfire rows by their first text column, and never draws level as a y", () => {
    const data = decode(recordsIPC(3));
    // start_timestamp, level (int32), span_name (dict<utf8>), duration (float64), attributes (json), message
    expect(chooseAxes(data.columns)).toEqual({ x: "start_timestamp", y: ["duration"], series: "span_name" });
  });

  it("uses the level column as the series when there is no text column", () => {
    const table = tableFromArrays(
      { t: [BASE], level: Int32Array.from([17]), n: [4] },
      { types: { t: timestamp(TimeUnit.MICROSECOND, "UTC"), level: int32() } },
    );
    const data = decode(tableToIPC(table, { format: "stream" })!);
    expect(chooseAxes(data.columns)).toEqual({ x: "t", y: ["n"], series: "level" });
  });

  it("follows the traits where they name usable columns, and ignores ones that are not", () => {
    const { columns } = decode(bucketsIPC());
    expect(chooseAxes(columns, { y: ["avg_ms"], series: "" })).toEqual({ x: "t", y: ["avg_ms"], series: "service_name" });
    expect(chooseAxes(columns, { x: "n", y: ["service_name", "nope"], series: "n" })).toEqual({
      x: "t",
      y: ["n", "avg_ms"],
      series: "",
    });
  });

  it("says there is nothing to chart without a time column or without a numeric one", () => {
    expect(chooseAxes([{ name: "n", kind: "number" }])).toBeNull();
    expect(chooseAxes([{ name: "t", kind: "timestamp" }, { name: "s", kind: "text" }])).toBeNull();
  });
});

describe("pivot and stack", () => {
  it("aligns each series on the sorted times, with gaps where a series has no row", () => {
    const data = decode(bucketsIPC());
    const p = pivot(data, { x: "t", y: ["n"], series: "service_name" });
    expect(Array.from(p.xs)).toEqual([BASE, BASE + 60_000, BASE + 120_000]);
    expect(p.series.map((s) => [s.label, Array.from(s.values)])).toEqual([
      ["api", [3, 5, 2]],
      ["worker", [7, 1, NaN]],
    ]);
    expect(stack(p.series).map((v) => Array.from(v))).toEqual([
      [3, 5, 2],
      [10, 6, 2],
    ]);
  });

  it("names series by level as the table does, coloured like the table's levels", () => {
    const table = tableFromArrays(
      { t: [BASE, BASE, BASE + 1000], level: Int32Array.from([9, 17, 17]), n: [1, 2, 3] },
      { types: { t: timestamp(TimeUnit.MICROSECOND, "UTC"), level: int32() } },
    );
    const p = pivot(decode(tableToIPC(table, { format: "stream" })!), { x: "t", y: ["n"], series: "level" });
    expect(p.series.map((s) => [s.label, Array.from(s.values)])).toEqual([
      ["info", [1, NaN]],
      ["error", [2, 3]],
    ]);
    expect(colourOf(p.series[1]!, 1)).toBe("#dc2626");
  });

  it("labels one series per y column when nothing splits the rows", () => {
    const p = pivot(decode(bucketsIPC()), { x: "t", y: ["n", "avg_ms"], series: "" });
    expect(p.series.map((s) => s.label)).toEqual(["n", "avg_ms"]);
    // Two rows at one instant add up (the counts of two services).
    expect(Array.from(p.series[0]!.values)).toEqual([10, 6, 2]);
  });
});

describe("Loki metric rows", () => {
  it("take the labels map as the series, named as Loki writes a label set", async () => {
    const { map, utf8: str } = await import("@uwdata/flechette");
    const table = tableFromArrays(
      {
        timestamp: [BASE, BASE, BASE + 1000],
        value: Float64Array.from([1, 2, 3]),
        labels: [new Map([["job", "api"]]), new Map([["job", "db"]]), new Map([["job", "api"]])],
      },
      { types: { timestamp: timestamp(TimeUnit.MICROSECOND, "UTC"), labels: map(str(), str()) } },
    );
    const data = decode(tableToIPC(table, { format: "stream" })!);
    const choice = chooseAxes(data.columns)!;
    expect(choice).toEqual({ x: "timestamp", y: ["value"], series: "labels" });
    expect(pivot(data, choice).series.map((s) => [s.label, Array.from(s.values)])).toEqual([
      ['{job="api"}', [1, 3]],
      ['{job="db"}', [2, NaN]],
    ]);
  });
});

describe("decimate: what a dense chart draws", () => {
  // 10,000 instants a second apart, one series: a sine with one spike, drawn 100 px wide.
  const n = 10_000;
  const xs = Float64Array.from({ length: n }, (_, i) => BASE + i * 1000);
  const values = Float64Array.from({ length: n }, (_, i) => (i === 4321 ? 50 : Math.sin(i / 300)));
  const pivoted = { xs, series: [{ label: "n", values }] };
  const from = BASE;
  const to = BASE + n * 1000;

  it("draws every point when there are no more than two per pixel", () => {
    const drawn = decimate(pivoted, "line", from, to, 10_000);
    expect(drawn.xs).toBe(xs);
    expect(drawn.columns[0]!.length).toBe(n);
  });

  it("draws each pixel column's lowest and highest value of a line, so a spike still shows", () => {
    const drawn = decimate(pivoted, "line", from, to, 100);
    expect(drawn.xs.length).toBe(200);
    const line = drawn.columns[0]!;
    for (let c = 0; c < 100; c++) {
      const all = Array.from(values.subarray(c * 100, c * 100 + 100));
      expect([line[2 * c], line[2 * c + 1]].sort()).toEqual([Math.min(...all), Math.max(...all)].sort());
    }
    expect(Math.max(...(line as number[]))).toBe(50);
  });

  it("draws the stack at each column's highest total for stacked bars and areas", () => {
    const other = Float64Array.from({ length: n }, () => 1);
    const drawn = decimate({ xs, series: [{ label: "a", values }, { label: "b", values: other }] }, "area", from, to, 100);
    expect(drawn.xs.length).toBe(100);
    expect(drawn.columns[1]).toContain(51); // the spike, on top of the other series
    expect([...drawn.xs]).toContain(BASE + 4321 * 1000);
  });

  it("finds the result's own row nearest the cursor, for the legend's exact values", () => {
    expect(nearest(xs, BASE + 4321 * 1000 + 400)).toBe(4321);
    expect(nearest(xs, BASE + 4321 * 1000 + 600)).toBe(4322);
    expect(nearest(xs, BASE - 5000)).toBe(0);
    expect(nearest(xs, to + 5000)).toBe(n - 1);
  });
});

describe("pivot of rows in any order", () => {
  it("sorts the instants and sums rows of one series at one instant", () => {
    const table = tableFromArrays(
      { t: Float64Array.from([3000, 1000, 2000, 1000]), s: ["a", "a", "b", "a"], n: Float64Array.from([1, 2, 3, 4]) },
      { types: { s: dictionary(utf8()) } },
    );
    const p = pivot(decode(tableToIPC(table, { format: "stream" })!), { x: "t", y: ["n"], series: "s" });
    expect(Array.from(p.xs)).toEqual([1000, 2000, 3000]);
    expect(p.series.map((s) => [s.label, Array.from(s.values)])).toEqual([
      ["a", [6, NaN, 1]],
      ["b", [NaN, 3, NaN]],
    ]);
  });
});
