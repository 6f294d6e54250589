import { map, tableFromArrays, tableToIPC, timestamp, TimeUnit, utf8 } from "@uwdata/flechette";
import { describe, expect, it } from "vitest";
import { decode } from "../src/arrow";
import { cellText, fillCell, fullValue } from "../src/cells";
import { parseLogfmt } from "../src/logfmt";

describe("logfmt", () => {
  it("reads bare and quoted values, with Go's escapes", () => {
    expect(parseLogfmt('level=warn msg="slow \\"db\\" query" took=1.2s ok')).toEqual([
      ["level", "warn"],
      ["msg", 'slow "db" query'],
      ["took", "1.2s"],
    ]);
    expect(parseLogfmt('ts=2026-01-01T00:00:00Z caller=main.go:12 path=/a?b=c empty=""')).toEqual([
      ["ts", "2026-01-01T00:00:00Z"],
      ["caller", "main.go:12"],
      ["path", "/a?b=c"],
      ["empty", ""],
    ]);
  });

  it("leaves prose, JSON and broken quotes alone", () => {
    expect(parseLogfmt("GET /checkout took 12ms status=200")).toBeNull();
    expect(parseLogfmt('{"msg": "hi"}')).toBeNull();
    expect(parseLogfmt('msg="never closed')).toBeNull();
    expect(parseLogfmt("plain words only")).toBeNull();
    expect(parseLogfmt("")).toBeNull();
  });
});

function lineColumn(lines: string[]) {
  const table = tableFromArrays(
    {
      timestamp: lines.map((_, i) => Date.UTC(2026, 0, 1, 0, i)),
      line: lines,
      labels: lines.map(() => [["app", "shop"]]),
    },
    { types: { timestamp: timestamp(TimeUnit.MILLISECOND, "UTC"), labels: map(utf8(), utf8()) } },
  );
  const data = decode(tableToIPC(table, { format: "stream" })!);
  return data.columns.find((c) => c.name === "line")!;
}

describe("a Loki line cell", () => {
  const lines = ['level=error msg="card declined" order=17', '{"msg": "hi", "user": {"id": 3}}', "just some text"];
  const info = lineColumn(lines);

  it("is a log line, not JSON: its badge is its type", () => {
    expect(info.kind).toBe("line");
    expect(info.badge).toBe("str");
  });

  it("shows a logfmt line's keys and values apart, and its fields as a tree in the detail", () => {
    const td = document.createElement("div");
    fillCell(td, info, lines[0], false);
    expect([...td.querySelectorAll(".lf-logfmt-key")].map((k) => k.textContent)).toEqual(["level=", "msg=", "order="]);
    expect([...td.querySelectorAll(".lf-logfmt-value")].map((k) => k.textContent)).toEqual(["error", '"card declined"', "17"]);
    expect(td.classList.contains("lf-expandable")).toBe(true);
    const detail = fullValue(info, lines[0], false);
    expect([...detail.querySelectorAll(".lf-tree-key")].map((k) => k.textContent)).toEqual(["level: ", "msg: ", "order: "]);
    expect(detail.querySelector(".lf-pre")!.textContent).toBe(lines[0]);
  });

  it("cuts a long logfmt line in the grid, and the detail has all of it", () => {
    const long = Array.from({ length: 60 }, (_, i) => `key${i}=value${i}`).join(" ");
    const td = document.createElement("div");
    fillCell(td, info, long, false);
    expect(td.classList.contains("lf-cut")).toBe(true);
    expect(td.textContent!.endsWith("…")).toBe(true);
    expect(td.textContent!.length).toBeLessThan(260);
    expect(fullValue(info, long, false).querySelectorAll(".lf-tree-key")).toHaveLength(60);
  });

  it("shows a JSON line as its preview and its tree, and other text as it is", () => {
    const td = document.createElement("div");
    fillCell(td, info, lines[1], false);
    expect(td.textContent).toBe('{msg: "hi", user: {id: 3}}');
    expect([...fullValue(info, lines[1], false).querySelectorAll(".lf-tree-key")].map((k) => k.textContent)).toEqual([
      "msg: ",
      "user: ",
      "id: ",
    ]);
    fillCell(td, info, lines[2], false);
    expect(td.textContent).toBe("just some text");
    expect(td.classList.contains("lf-expandable")).toBe(false);
    expect(cellText(info, lines[2], false)).toBe("just some text");
    expect(fullValue(info, lines[2], false).textContent).toBe("just some text");
  });
});

describe("a map cell (Loki's labels, structured metadata)", () => {
  it("reads as an object of its entries", () => {
    const table = tableFromArrays({ m: [[["detected_level", "warn"], ["trace", "t1"]]] }, { types: { m: map(utf8(), utf8()) } });
    const info = decode(tableToIPC(table, { format: "stream" })!).columns[0]!;
    expect(cellText(info, info.column.at(0), false)).toBe('{detected_level: "warn", trace: "t1"}');
  });
});
