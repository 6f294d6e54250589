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

/** A column's values as one array (decoded once: reading 5,000 rows one `at()` at a time is several times
 * slower), or an array of nulls when the trace's rows lack the column. */
function valuesOf(info: ColumnInfo | undefined, rows: number): ArrayLike<unknown> {
  return info ? info.column.toArray() : new Array<null>(rows).fill(null);
}

function millis(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function textOf(v: unknown): string {
  return v === null || v === undefined ? "" : String(v);
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
  const n = data.numRows;
  const [start, end, duration, spanId, parentId, kind, service] = [
    "start_timestamp",
    "end_timestamp",
    "duration",
    "span_id",
    "parent_span_id",
    "kind",
    "service_name",
  ].map((name) => valuesOf(column(name), n));
  const inputs: SpanInput[] = new Array<SpanInput>(n);
  for (let row = 0; row < n; row++) {
    const s = millis(start![row]) ?? 0;
    let e = millis(end![row]);
    if (e === null) {
      const seconds = millis(duration![row]);
      e = seconds === null ? s : s + seconds * 1000;
    }
    inputs[row] = {
      spanId: textOf(spanId![row]),
      parentId: textOf(parentId![row]) || null,
      start: s,
      end: Math.max(s, e),
      kind: textOf(kind![row]) || "span",
      service: textOf(service![row]),
    };
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
