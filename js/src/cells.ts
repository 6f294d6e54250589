/** What a cell shows: the text in the grid, and the whole value in the detail pane. */
import { Type } from "@uwdata/flechette";
import type { ColumnInfo } from "./arrow";
import { h } from "./dom";
import { formatDuration, formatNumber, jsonPreview, levelOf, parseJsonText } from "./format";
import { type Pair, pairsObject, parseLogfmt } from "./logfmt";
import { formatDateTime } from "./range";

/** Text longer than this is cut in the grid; the detail pane shows all of it. */
export const MAX_CELL_CHARS = 200;

function pad3(n: number): string {
  return String(n).padStart(3, "0");
}

export function formatTimestamp(ms: number, utc: boolean): string {
  const millis = ((Math.floor(ms) % 1000) + 1000) % 1000;
  return `${formatDateTime(ms, utc)}.${pad3(millis)}`;
}

function durationSeconds(info: ColumnInfo, value: unknown): number {
  // Arrow Duration columns arrive as integers in their unit; Logfire's `duration` is float seconds.
  if (info.badge === "duration" && info.column.type.typeId === 18) {
    const unit = (info.column.type as { unit: number }).unit;
    return Number(value) / [1, 1e3, 1e6, 1e9][unit]!;
  }
  return Number(value);
}

/** Plain text for a value, as copied and as shown (before cutting). */
export function cellText(info: ColumnInfo, value: unknown, utc: boolean): string {
  if (value === null || value === undefined) return "";
  switch (info.kind) {
    case "timestamp":
      return formatTimestamp(value as number, utc);
    case "date":
      return formatDateTime(value as number, true).slice(0, 10);
    case "duration":
      return formatDuration(durationSeconds(info, value));
    case "level":
      return levelOf(value as number | string).name;
    case "number":
      return formatNumber(value as number);
    case "bool":
      return value ? "true" : "false";
    case "text":
      return value as string;
    case "line": {
      const parsed = parseJsonText(value as string);
      return parsed === undefined ? (value as string) : jsonPreview(parsed);
    }
    case "json":
      if (typeof value === "string") {
        const parsed = parseJsonText(value);
        return parsed === undefined ? value : jsonPreview(parsed);
      }
      return jsonPreview(plainOf(info, value));
    default:
      return jsonPreview(plainOf(info, value));
  }
}

/** The raw value as copied: JSON text as stored, timestamps as ISO (UTC), other values as shown. */
export function copyValue(info: ColumnInfo, value: unknown, utc: boolean): string {
  if (value === null || value === undefined) return "";
  if (info.kind === "timestamp") return new Date(value as number).toISOString();
  if (info.kind === "level") {
    return typeof value === "string" ? value : `${levelOf(value as number).name} (${String(value)})`;
  }
  if (info.kind === "json" || info.kind === "list" || info.kind === "other" || info.kind === "line") {
    return typeof value === "string" ? value : JSON.stringify(plainOf(info, value), null, 2);
  }
  if (info.kind === "number") return String(value);
  return cellText(info, value, utc);
}

/** Arrow values (typed arrays, Maps as pairs) as plain JSON-able values. */
export function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, toPlain(v)]));
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}

/** A cell's value as plain JSON-able data; a map column's entries (Arrow gives them as [key, value] pairs,
 * e.g. Loki's labels and structured metadata) as an object, `{detected_level: "warn"}`. */
function plainOf(info: ColumnInfo, value: unknown): unknown {
  if (info.column.type.typeId === Type.Map && Array.isArray(value)) {
    return Object.fromEntries(value.map((pair) => [String((pair as unknown[])[0]), toPlain((pair as unknown[])[1])]));
  }
  return toPlain(value);
}

/** Fills a grid cell. Kept cheap: it runs for every visible cell on every scroll frame. */
export function fillCell(td: HTMLElement, info: ColumnInfo, value: unknown, utc: boolean): void {
  td.className = `lf-cell lf-k-${info.kind}`;
  if (value === null || value === undefined) {
    td.textContent = "null";
    td.classList.add("lf-null");
    return;
  }
  if (info.kind === "level") {
    const level = levelOf(value as number | string);
    td.textContent = "";
    td.append(h("span", { class: `lf-level ${level.cls}` }, level.name));
    return;
  }
  if (info.kind === "line" && fillLogfmt(td, value as string)) return;
  let text = cellText(info, value, utc);
  const newline = text.indexOf("\n");
  if (newline >= 0 || text.length > MAX_CELL_CHARS) {
    text = `${text.slice(0, Math.min(MAX_CELL_CHARS, newline >= 0 ? newline : MAX_CELL_CHARS))}…`;
    td.classList.add("lf-cut");
  }
  if (info.kind === "json" || (info.kind === "line" && text !== value)) td.classList.add("lf-expandable");
  td.textContent = text;
}

/** A logfmt line as keys and values set apart (the detail pane shows them as a tree); false for other text. */
function fillLogfmt(td: HTMLElement, line: string): boolean {
  const pairs = parseLogfmt(line.length > MAX_CELL_CHARS * 4 ? line.slice(0, MAX_CELL_CHARS * 4) : line);
  if (!pairs) return false;
  td.textContent = "";
  td.classList.add("lf-expandable", "lf-logfmt");
  let length = 0;
  for (const [key, value] of pairs) {
    if (length > MAX_CELL_CHARS) {
      td.classList.add("lf-cut");
      td.append("…");
      break;
    }
    // Quotes only where a value needs them to read as one (spaces, or nothing at all).
    const shown = value === "" || /\s/.test(value) ? JSON.stringify(value) : value;
    td.append(h("span", { class: "lf-logfmt-key" }, `${key}=`), h("span", { class: "lf-logfmt-value" }, shown), " ");
    length += key.length + shown.length + 2;
  }
  return true;
}

/** A collapsible tree of a JSON value: objects and arrays are <details>, open to `openDepth`. */
export function jsonTree(value: unknown, openDepth = 1, depth = 0): HTMLElement {
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value as Record<string, unknown>);
    const details = h("details", { class: "lf-tree" });
    if (depth < openDepth) details.open = true;
    const bracket = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    details.append(
      h("summary", {}, h("span", { class: "lf-tree-preview" }, `${bracket} ${jsonPreview(value, 80)}`)),
    );
    const list = h("div", { class: "lf-tree-body" });
    for (const [key, item] of entries) {
      const row = h("div", { class: "lf-tree-row" }, h("span", { class: "lf-tree-key" }, `${key}: `));
      row.append(jsonTree(item, openDepth, depth + 1));
      list.append(row);
    }
    details.append(list);
    return details;
  }
  const cls = value === null ? "null" : typeof value;
  return h("span", { class: `lf-tree-leaf lf-json-${cls}` }, JSON.stringify(value) ?? "null");
}

/** The whole value for the detail pane: a tree for JSON, a preformatted block for text. */
export function fullValue(info: ColumnInfo, value: unknown, utc: boolean): HTMLElement {
  if (value === null || value === undefined) return h("span", { class: "lf-null" }, "null");
  if (info.kind === "line") return lineValue(value as string);
  if (info.kind === "json" || info.kind === "list" || info.kind === "other" || info.kind === "text") {
    const parsed = typeof value === "string" ? parseJsonText(value) : plainOf(info, value);
    if (parsed !== undefined && parsed !== null && typeof parsed === "object") return jsonTree(parsed, 2);
  }
  if (info.kind === "level") {
    const level = levelOf(value as number | string);
    const text = typeof value === "string" ? value : `${level.name} (${String(value)})`;
    return h("span", { class: `lf-level ${level.cls}` }, text);
  }
  if (info.kind === "timestamp") {
    const ms = value as number;
    return h(
      "div",
      {},
      h("div", {}, `${formatTimestamp(ms, false)} local`),
      h("div", {}, `${formatTimestamp(ms, true)} UTC`),
    );
  }
  return h("pre", { class: "lf-pre" }, cellText(info, value, utc));
}

/** A log line in the detail pane: a JSON line as its tree, a logfmt line as the tree of its fields over the
 * line as written, other text as it is. */
function lineValue(line: string): HTMLElement {
  const parsed = parseJsonText(line);
  if (parsed !== undefined && parsed !== null && typeof parsed === "object") return jsonTree(parsed, 2);
  const pairs: Pair[] | null = parseLogfmt(line);
  if (!pairs) return h("pre", { class: "lf-pre" }, line);
  return h("div", { class: "lf-logfmt-detail" }, jsonTree(pairsObject(pairs), 1), h("pre", { class: "lf-pre" }, line));
}
