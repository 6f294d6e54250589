import { describe, expect, it } from "vitest";
import { Type } from "@uwdata/flechette";
import { decode, kindOf } from "../src/arrow";
import { cellText } from "../src/cells";
import { BASE, recordsIPC } from "./helpers";

describe("Arrow decoding", () => {
  const data = decode(recordsIPC(1000));

  it("reads every row and column", () => {
    expect(data.numRows).toBe(1000);
    expect(data.columns.map((c) => c.name)).toEqual([
      "start_timestamp",
      "level",
      "span_name",
      "duration",
      "attributes",
      "message",
    ]);
  });

  it("knows what each column is for and badges its type", () => {
    const kinds = Object.fromEntries(data.columns.map((c) => [c.name, [c.kind, c.badge]]));
    expect(kinds).toEqual({
      start_timestamp: ["timestamp", "timestamp"],
      level: ["level", "int32"],
      span_name: ["text", "str"],
      duration: ["duration", "float64"],
      attributes: ["json", "json"],
      message: ["text", "str"],
    });
  });

  it("gives timestamps as epoch milliseconds and dictionary strings as text", () => {
    const ts = data.columns[0]!.column;
    expect(ts.at(0)).toBe(BASE);
    expect(ts.at(999)).toBe(BASE - 999_000);
    expect(data.columns[2]!.column.at(1)).toBe("span h");
    expect(data.columns[1]!.column.at(2)).toBe(17);
  });

  it("shows a Loki line as JSON when it is JSON and as text when it is not", () => {
    const utf8 = { typeId: Type.Utf8 } as never;
    expect(kindOf("line", utf8)).toBe("line");
    const info = { name: "line", kind: "line", badge: "str" } as never;
    expect(cellText(info, '{"msg": "hi", "n": 1}', true)).toContain("msg");
    expect(cellText(info, "level=warn msg=slow", true)).toBe("level=warn msg=slow");
  });
});
