import { describe, expect, it } from "vitest";
import {
  QUICK_RANGES,
  absolute,
  describe as describeRange,
  formatAmount,
  formatRange,
  label,
  parseTime,
  resolveRange,
  sameRange,
  shift,
  zoomOut,
} from "../src/range";

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const H = 3_600_000;

describe("parsing", () => {
  it("reads relative expressions and bare amounts", () => {
    expect(parseTime("now", NOW)).toBe(NOW);
    expect(parseTime("now-6h", NOW)).toBe(NOW - 6 * H);
    expect(parseTime("now - 15m", NOW)).toBe(NOW - 15 * 60_000);
    expect(parseTime("7d", NOW)).toBe(NOW - 7 * 24 * H);
    expect(parseTime("NOW-2D", NOW)).toBe(NOW - 48 * H);
  });

  it("reads absolute ISO times", () => {
    expect(parseTime("2024-05-01T10:00:00Z", NOW)).toBe(Date.UTC(2024, 4, 1, 10));
  });

  it("says what to type for text it cannot read", () => {
    expect(() => parseTime("yesterday-ish", NOW)).toThrow(/now-6h/);
  });

  it("resolves now-2d to now-1d and an empty end as now", () => {
    expect(resolveRange({ min: "now-2d", max: "now-1d" }, NOW)).toEqual({ from: NOW - 48 * H, to: NOW - 24 * H });
    expect(resolveRange({ min: "now-1h", max: "" }, NOW)).toEqual({ from: NOW - H, to: NOW });
  });

  it("refuses a range that ends before it starts", () => {
    expect(() => resolveRange({ min: "now-1h", max: "now-2h" }, NOW)).toThrow(/before its end/);
  });
});

describe("quick ranges", () => {
  it("span 5 minutes to 30 days and are named for people", () => {
    expect(QUICK_RANGES[0]).toEqual({ label: "Last 5 minutes", min: "now-5m" });
    expect(QUICK_RANGES.at(-1)).toEqual({ label: "Last 30 days", min: "now-30d" });
    for (const q of QUICK_RANGES) expect(describeRange({ min: q.min, max: "" })).toBe(q.label);
  });

  it("names a quick range however the kernel wrote it back", () => {
    expect(describeRange({ min: "now-1d", max: "" })).toBe("Last 1 day");
    expect(describeRange({ min: "now-24h", max: "" })).toBe("Last 1 day");
    expect(describeRange({ min: "now-90m", max: "" })).toBe("Last 90 minutes");
  });

  it("knows two spellings of one range are the same range", () => {
    expect(sameRange({ min: "now-24h", max: "" }, { min: "now-1d", max: "now" })).toBe(true);
    expect(sameRange({ min: "2024-05-01T12:00:00.000Z", max: "" }, { min: "2024-05-01T12:00:00+00:00", max: "" })).toBe(true);
    expect(sameRange({ min: "now-1h", max: "" }, { min: "now-2h", max: "" })).toBe(false);
  });

  it("describes other relative ranges as typed", () => {
    expect(describeRange({ min: "now-2d", max: "now-1d" })).toBe("now-2d → now-1d");
    expect(describeRange(absolute(NOW - H, NOW))).toBe("");
  });
});

describe("labels agree with the kernel's TimeRange.label()", () => {
  // Each expectation is what `TimeRange.parse(min, max or None).label()` prints in Python.
  const cases: [string, string, string][] = [
    ["now-5m", "", "Last 5 minutes"],
    ["now-1h", "", "Last 1 hour"],
    ["now-24h", "", "Last 1 day"],
    ["now-1d", "", "Last 1 day"],
    ["now-90m", "", "Last 90 minutes"],
    ["now-36h", "", "Last 36 hours"],
    ["45s", "", "Last 45 seconds"],
    ["1350s", "", "Last 22.5 minutes"],
    ["now-1000000m", "", "Last 1e+06 minutes"],
    ["now-2d", "now", "Last 2 days"],
    ["now-2d", "now-1d", "now-2d → now-1d"],
    ["now-24h", "now-1h", "now-1d → now-1h"],
    ["2024-05-01T11:00:00Z", "2024-05-01T12:00:30Z", "2024-05-01 11:00 → 12:00:30 UTC"],
    ["2024-04-30T11:00:00Z", "2024-05-01T12:00:00Z", "2024-04-30 11:00 → 2024-05-01 12:00 UTC"],
    ["2024-05-01T11:00:00.5Z", "2024-05-01T12:00:00Z", "2024-05-01 11:00:00 → 12:00 UTC"],
    ["2024-05-01T11:00:00Z", "", "2024-05-01 11:00 UTC → now"],
    ["2024-05-01T11:00:00Z", "now-1h", "2024-05-01T11:00:00+00:00 → now-1h"],
    ["now-1h", "2024-05-01T11:00:00Z", "now-1h → 2024-05-01T11:00:00+00:00"],
  ];
  it.each(cases)("%s to %s is %s", (min, max, expected) => {
    expect(label({ min, max })).toBe(expected);
  });

  it("names every quick range the way Python does", () => {
    expect(QUICK_RANGES.map((q) => q.label)).toEqual([
      "Last 5 minutes",
      "Last 15 minutes",
      "Last 30 minutes",
      "Last 1 hour",
      "Last 3 hours",
      "Last 6 hours",
      "Last 12 hours",
      "Last 1 day",
      "Last 2 days",
      "Last 7 days",
      "Last 14 days",
      "Last 30 days",
    ]);
    expect(QUICK_RANGES.find((q) => q.label === "Last 1 day")!.min).toBe("now-1d");
  });

  it("shows the current range in UTC exactly as the kernel labels that absolute range", () => {
    const from = Date.UTC(2024, 4, 1, 11, 0, 0);
    expect(formatRange({ from, to: from + H + 30_000 }, true)).toBe(label(absolute(from, from + H + 30_000)));
    expect(formatRange({ from, to: NOW }, true, true)).toBe("2024-05-01 11:00 UTC → now");
  });
});

describe("zoom and shift", () => {
  it("zooms a range ending now out to twice the width, still ending now", () => {
    expect(zoomOut({ min: "now-1h", max: "" }, NOW)).toEqual({ min: "now-2h", max: "" });
  });

  it("zooms an absolute range out around its centre", () => {
    const out = zoomOut(absolute(NOW - 2 * H, NOW - H), NOW);
    expect(resolveRange(out, NOW)).toEqual({ from: NOW - 2.5 * H, to: NOW - 0.5 * H });
  });

  it("shifts back and forward by half the width, keeping relative ranges relative", () => {
    const back = shift({ min: "now-1h", max: "" }, -1, NOW);
    expect(back).toEqual({ min: "now-90m", max: "now-30m" });
    expect(shift(back, 1, NOW)).toEqual({ min: "now-1h", max: "" });
  });

  it("does not shift a relative range past now", () => {
    expect(shift({ min: "now-1h", max: "" }, 1, NOW)).toEqual({ min: "now-1h", max: "" });
  });

  it("shifts absolute ranges as absolute ISO times", () => {
    const out = shift(absolute(NOW - 2 * H, NOW - H), -1, NOW);
    expect(out).toEqual({ min: new Date(NOW - 2.5 * H).toISOString(), max: new Date(NOW - 1.5 * H).toISOString() });
  });
});

describe("formatting", () => {
  it("writes amounts in the largest exact unit", () => {
    expect(formatAmount(90 * 60_000)).toBe("90m");
    expect(formatAmount(2 * H)).toBe("2h");
    expect(formatAmount(7 * 24 * H)).toBe("7d");
    expect(formatAmount(22.5 * 60_000)).toBe("22.5m");
    expect(formatAmount(90_000)).toBe("1.5m");
    expect(formatAmount(45_000)).toBe("45s");
  });

  it("shows a range in UTC or local time, the date once when both ends share it", () => {
    expect(formatRange({ from: NOW - H, to: NOW }, true)).toBe("2024-05-01 11:00 → 12:00 UTC");
    expect(formatRange({ from: NOW - 25 * H, to: NOW }, true)).toBe("2024-04-30 11:00 → 2024-05-01 12:00 UTC");
    expect(formatRange({ from: NOW - H - 7_000, to: NOW }, true)).toBe("2024-05-01 10:59:53 → 12:00 UTC");
    const local = new Date(NOW);
    expect(formatRange({ from: NOW, to: NOW + 60_000 }, false)).toContain(
      `${String(local.getHours()).padStart(2, "0")}:00`,
    );
  });
});
