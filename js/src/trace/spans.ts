/** A trace's rows (decoded Arrow) as the waterfall reads them: times, ids and the fields its lines show. */
import type { ColumnInfo, Data } from "../arrow";
import { toPlain } from "../cells";
import type { SpanInput } from "./layout";

export interface Spans {
  data: Data;
  inputs: SpanInput[];
  /** A column by name, or undefined when the trace's rows lack it. */
  column(name: string): ColumnInfo | undefined;
  /** The value of `name` in `row`, as plain JSON-able data (null when absent). */
  value(row: number, name: string): unknown;
  text(row: number, name: string): string;
  level(row: number): number;
  /** True when the row recorded an exception or ended with an error status. */
  failed(row: number): boolean;
}

function millis(info: ColumnInfo | undefined, row: number): number | null {
  if (!info) return null;
  const v = info.column.at(row);
  if (v === null || v === undefined) return null;
  return typeof v === "bigint" ? Number(v) : Number(v);
}

export function readSpans(data: Data): Spans {
  const byName = new Map(data.columns.map((c) => [c.name, c]));
  const column = (name: string): ColumnInfo | undefined => byName.get(name);
  const value = (row: number, name: string): unknown => {
    const info = byName.get(name);
    if (!info) return null;
    const v = info.column.at(row);
    return v === undefined ? null : toPlain(v);
  };
  const text = (row: number, name: string): string => {
    const v = value(row, name);
    return v === null ? "" : String(v);
  };
  const start = column("start_timestamp");
  const end = column("end_timestamp");
  const duration = column("duration");
  const inputs: SpanInput[] = [];
  for (let row = 0; row < data.numRows; row++) {
    const s = millis(start, row) ?? 0;
    let e = millis(end, row);
    if (e === null) {
      const seconds = millis(duration, row);
      e = seconds === null ? s : s + seconds * 1000;
    }
    const parent = text(row, "parent_span_id");
    inputs.push({
      spanId: text(row, "span_id"),
      parentId: parent || null,
      start: s,
      end: Math.max(s, e),
      kind: text(row, "kind") || "span",
      service: text(row, "service_name"),
    });
  }
  return {
    data,
    inputs,
    column,
    value,
    text,
    level: (row) => Number(value(row, "level") ?? 9),
    failed: (row) =>
      value(row, "is_exception") === true ||
      text(row, "exception_type") !== "" ||
      text(row, "otel_status_code") === "ERROR",
  };
}
