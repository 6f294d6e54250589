import { describe, expect, it } from "vitest";
import { formatDuration, jsonPreview, levelOf, parseJsonText } from "../src/format";

describe("levels", () => {
  it("names Logfire's level numbers", () => {
    const names = [1, 5, 9, 10, 13, 17, 21].map((n) => levelOf(n).name);
    expect(names).toEqual(["trace", "debug", "info", "notice", "warn", "error", "fatal"]);
    expect(levelOf(14).name).toBe("warn");
    expect(levelOf(17).cls).toBe("lf-level-error");
  });
});

describe("durations", () => {
  it("reads in human units", () => {
    expect(formatDuration(0.00085)).toBe("850 µs");
    expect(formatDuration(0.0123)).toBe("12.3 ms");
    expect(formatDuration(1.25)).toBe("1.25 s");
    expect(formatDuration(125)).toBe("2 min 5 s");
    expect(formatDuration(3 * 3600 + 20 * 60)).toBe("3 h 20 min");
    expect(formatDuration(0)).toBe("0 s");
  });
});

describe("json", () => {
  it("parses object and array text only", () => {
    expect(parseJsonText('{"a": 1}')).toEqual({ a: 1 });
    expect(parseJsonText("hello")).toBeUndefined();
    expect(parseJsonText("{broken")).toBeUndefined();
  });

  it("previews compactly and cuts long values", () => {
    expect(jsonPreview({ a: 1, b: [2, "x"] })).toBe('{a: 1, b: [2, "x"]}');
    expect(jsonPreview({ long: "y".repeat(500) }, 20).endsWith("…")).toBe(true);
  });
});
