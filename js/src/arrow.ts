/** Decoding the Arrow IPC bytes the kernel sends, and what each column is for display. */
import { type Column, type DataType, type Table, Type, tableFromIPC } from "@uwdata/flechette";

export type Kind =
  | "timestamp"
  | "date"
  | "duration"
  | "level"
  | "json"
  | "line"
  | "number"
  | "bool"
  | "text"
  | "list"
  | "other";

export interface ColumnInfo {
  name: string;
  kind: Kind;
  /** Short type shown as the column's badge, e.g. "timestamp", "int32", "json". */
  badge: string;
  column: Column<unknown>;
  /** Numbers sort and align right. */
  numeric: boolean;
}

export interface Data {
  table: Table;
  columns: ColumnInfo[];
  numRows: number;
}

/** Columns that hold JSON text: Logfire's, and Loki's `line` (JSON or not). */
const JSON_COLUMNS = new Set([
  "attributes",
  "attributes_json_schema",
  "otel_events",
  "otel_links",
  "otel_resource_attributes",
  "otel_scope_attributes",
  "exemplars",
]);

/** Python sends duration (seconds, a float) as Logfire does; Arrow Duration columns are handled too. */
const DURATION_COLUMNS = new Set(["duration"]);

function valueType(type: DataType): DataType {
  return type.typeId === Type.Dictionary ? type.dictionary : type;
}

function badgeOf(type: DataType): string {
  const t = valueType(type);
  switch (t.typeId) {
    case Type.Int:
      return `${t.signed ? "int" : "uint"}${t.bitWidth}`;
    case Type.Float:
      return ["float16", "float32", "float64"][t.precision] ?? "float";
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Utf8View:
      return "str";
    case Type.Bool:
      return "bool";
    case Type.Timestamp:
      return "timestamp";
    case Type.Date:
      return "date";
    case Type.Duration:
      return "duration";
    case Type.Decimal:
      return "decimal";
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList:
    case Type.ListView:
    case Type.LargeListView:
      return `list<${badgeOf(t.children[0]!.type)}>`;
    case Type.Struct:
      return "struct";
    case Type.Map:
      return "map";
    case Type.Binary:
    case Type.LargeBinary:
    case Type.BinaryView:
      return "binary";
    case Type.Null:
      return "null";
    default:
      return "value";
  }
}

function isText(type: DataType): boolean {
  const id = valueType(type).typeId;
  return id === Type.Utf8 || id === Type.LargeUtf8 || id === Type.Utf8View;
}

export function kindOf(name: string, type: DataType): Kind {
  const t = valueType(type);
  const lower = name.toLowerCase();
  switch (t.typeId) {
    case Type.Timestamp:
      return "timestamp";
    case Type.Date:
      return "date";
    case Type.Duration:
      return "duration";
    case Type.Bool:
      return "bool";
    case Type.Int:
      return lower === "level" ? "level" : "number";
    case Type.Float:
    case Type.Decimal:
      return DURATION_COLUMNS.has(lower) ? "duration" : "number";
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Utf8View:
      if (lower === "level") return "level"; // Loki's level words
      if (lower === "line") return "line"; // a Loki entry's line: JSON, logfmt or plain text, line by line
      return JSON_COLUMNS.has(lower) ? "json" : "text";
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList:
    case Type.ListView:
    case Type.LargeListView:
      return "list";
    case Type.Struct:
    case Type.Map:
      return "json";
    default:
      return "other";
  }
}

/** Decodes one Arrow IPC stream. Values are read lazily, row by row, for the rows on screen. */
export function decode(bytes: Uint8Array | ArrayBuffer): Data {
  const table = tableFromIPC(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  const columns = table.schema.fields.map((field, i): ColumnInfo => {
    const kind = kindOf(field.name, field.type);
    return {
      name: field.name,
      kind,
      badge: kind === "json" && badgeOf(field.type) === "str" ? "json" : badgeOf(field.type),
      column: table.getChildAt(i) as Column<unknown>,
      numeric: kind === "number" || kind === "duration" || (kind === "level" && !isText(field.type)),
    };
  });
  return { table, columns, numRows: table.numRows };
}

/** Bytes of a DataView (as anywidget hands buffers over) without copying. */
export function viewBytes(view: DataView | ArrayBuffer | Uint8Array): Uint8Array {
  if (view instanceof Uint8Array) return view;
  if (view instanceof ArrayBuffer) return new Uint8Array(view);
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}
