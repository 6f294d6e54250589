/**
 * Time ranges as the picker speaks them: the same strings the Python side keeps in the `min_timestamp` /
 * `max_timestamp` traits. An end is either relative to now (`now`, `now-6h`, `6h` meaning `now-6h`) or an
 * absolute ISO time; an empty `max` means "until now".
 */

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
// The units ranges are written and named in, largest first, as Python's TimeRange renders them (no weeks).
const RENDER_UNITS: [string, number, string][] = [
  ["d", 86_400_000, "day"],
  ["h", 3_600_000, "hour"],
  ["m", 60_000, "minute"],
];

export interface RangeSpec {
  min: string;
  max: string;
}

export interface ResolvedRange {
  from: number;
  to: number;
}

export interface QuickRange {
  label: string;
  min: string;
}

// Only the past: the kernel's TimeRange reads "now-6h", not "now+6h".
const RELATIVE = /^now\s*(?:(-)\s*(\d+(?:\.\d+)?)\s*([smhdw]))?$/;
const BARE = /^(\d+(?:\.\d+)?)\s*([smhdw])$/;

/** Offset in ms from now (negative = past) if `expr` is relative, else null. */
export function relativeOffset(expr: string): number | null {
  const text = expr.trim().toLowerCase();
  if (text === "") return 0;
  const bare = BARE.exec(text);
  if (bare) return -Number(bare[1]) * (UNIT_MS[bare[2]!] ?? 0);
  const rel = RELATIVE.exec(text);
  if (!rel) return null;
  if (rel[1] === undefined) return 0;
  const size = Number(rel[2]) * (UNIT_MS[rel[3]!] ?? 0);
  return rel[1] === "-" ? -size : size;
}

// "2024-05-01", "2024-05-01 14:03", "2024-05-01T14:03:07.25", optionally " UTC" or "Z": the forms the picker
// shows and people type. Read by hand, since Date.parse reads "2024-05-01" as UTC but "2024-05-01 14:03" as local.
const WALL_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?\s*(utc|z)?$/i;

/** One end of a range as epoch ms; throws a one-sentence Error for text it cannot read. A wall time without
 * a zone is local time, or UTC when `utc` (the picker's UTC box) is set. */
export function parseTime(expr: string, now: number, utc = false): number {
  const offset = relativeOffset(expr);
  if (offset !== null) return now + offset;
  const text = expr.trim();
  const wall = WALL_TIME.exec(text);
  if (wall) {
    const part = (i: number): number => Number(wall[i] ?? 0);
    const millis = Number((wall[7] ?? "").padEnd(3, "0"));
    const fields = [part(1), part(2) - 1, part(3), part(4), part(5), part(6), millis] as const;
    return utc || wall[8] !== undefined ? Date.UTC(...fields) : new Date(...fields).getTime();
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new Error(`"${expr}" is not a time: use now-6h, 15m, 7d or an ISO time like 2024-05-01T12:00.`);
  }
  return ms;
}

export function resolveRange(spec: RangeSpec, now: number, utc = false): ResolvedRange {
  const from = parseTime(spec.min, now, utc);
  const to = spec.max.trim() === "" ? now : parseTime(spec.max, now, utc);
  if (from >= to) throw new Error("The start of the range must be before its end.");
  return { from, to };
}

/** Python's `f"{x:g}"` for the positive numbers amounts use: 22.5 -> "22.5", 1e6 -> "1e+06". */
function pyG(x: number): string {
  if (x >= 1e6) {
    const [mantissa, exponent] = x.toExponential(5).split("e") as [string, string];
    return `${mantissa.replace(/\.?0+$/, "")}e${exponent[0]}${exponent.slice(1).padStart(2, "0")}`;
  }
  return String(Number(x.toPrecision(6)));
}

/** `[number, unit, word]` as the kernel's `_timerange._amount`: whole days, hours or minutes first ("90m",
 * "36h"), then one decimal ("22.5m"), then plain seconds ("45", "1.5"). */
function amount(ms: number): [string, string, string] {
  const abs = Math.abs(ms);
  for (const tenths of [1, 10]) {
    for (const [short, size, word] of RENDER_UNITS) {
      if (abs >= size && (abs * tenths) % size === 0) return [pyG(abs / size), short, word];
    }
  }
  return [(abs / 1000).toFixed(6).replace(/\.?0+$/, "") || "0", "s", "second"];
}

/** A relative amount as the kernel writes it: 5400000 -> "90m", 86400000 -> "1d", 1350000 -> "22.5m". */
export function formatAmount(ms: number): string {
  const [n, short] = amount(ms);
  return `${n}${short}`;
}

/** "1 hour", "90 minutes", "1 day": the words of TimeRange.label()'s "Last ...". */
function words(ms: number): string {
  const [n, , word] = amount(ms);
  return `${n} ${word}${n === "1" ? "" : "s"}`;
}

/** Python's `datetime.isoformat()` of a UTC instant: "2024-05-01T11:00:00+00:00", ".500000" when needed. */
function pythonIso(ms: number): string {
  const [base, frac] = new Date(ms).toISOString().slice(0, -1).split(".") as [string, string];
  return frac === "000" ? `${base}+00:00` : `${base}.${frac}000+00:00`;
}

/** One end as the kernel renders it: "now", "now-1d" (for "now-24h" or "1d"), or an ISO time. */
function renderBound(expr: string): string {
  const offset = relativeOffset(expr);
  if (offset === null) return pythonIso(parseTime(expr, 0));
  return offset === 0 ? "now" : relativeExpr(offset);
}

function relativeExpr(offset: number): string {
  if (offset === 0) return "now";
  return `now${offset < 0 ? "-" : "+"}${formatAmount(offset)}`;
}

function isRelative(spec: RangeSpec): boolean {
  return relativeOffset(spec.min) !== null && relativeOffset(spec.max) !== null;
}

/** Moves a relative spec by `delta` ms keeping it relative, an absolute one as ISO times. */
function moved(spec: RangeSpec, from: number, to: number, now: number): RangeSpec {
  if (isRelative(spec)) {
    // Never past now: a relative range ending in the future shows nothing new.
    const shift = Math.max(0, to - now);
    const end = to - now - shift;
    return { min: relativeExpr(from - now - shift), max: end === 0 ? "" : relativeExpr(end) };
  }
  return { min: new Date(from).toISOString(), max: new Date(to).toISOString() };
}

/** Twice as wide around the same centre (a range ending now stays ending now). */
export function zoomOut(spec: RangeSpec, now: number): RangeSpec {
  const { from, to } = resolveRange(spec, now);
  const width = to - from;
  return moved(spec, from - width / 2, to + width / 2, now);
}

/** Shift by half the width: direction -1 = back in time, +1 = forward. */
export function shift(spec: RangeSpec, direction: -1 | 1, now: number): RangeSpec {
  const { from, to } = resolveRange(spec, now);
  const step = ((to - from) / 2) * direction;
  return moved(spec, from + step, to + step, now);
}

/** True when two specs mean the same range (the kernel may write the same range differently). */
export function sameRange(a: RangeSpec, b: RangeSpec): boolean {
  const now = Date.now();
  try {
    return parseTime(a.min, now) === parseTime(b.min, now) && endOf(a, now) === endOf(b, now);
  } catch {
    return a.min === b.min && a.max === b.max;
  }
}

function endOf(spec: RangeSpec, now: number): number {
  return spec.max.trim() === "" ? now : parseTime(spec.max, now);
}

/** An absolute range (e.g. from a drag on the timeline), as the traits carry it. */
export function absolute(from: number, to: number): RangeSpec {
  return { min: new Date(from).toISOString(), max: new Date(to).toISOString() };
}

/**
 * The range's name exactly as the kernel's `TimeRange.label()` gives it: "Last 1 hour", "Last 1 day",
 * "now-2d → now-1d", "2024-05-01 11:00 → 12:00:30 UTC", "2024-05-01 11:00 UTC → now". Throws for text it
 * cannot read.
 */
export function label(spec: RangeSpec): string {
  const since = relativeOffset(spec.min);
  const until = relativeOffset(spec.max);
  const open = until === 0; // "", "now": until now
  if (since !== null && open) return `Last ${words(since)}`;
  if (since === null && (open || until === null)) {
    const from = parseTime(spec.min, 0);
    if (open) return `${displayTime(from, true, true)} UTC → now`;
    const to = parseTime(spec.max, 0);
    const sameDay = displayTime(from, true, true).slice(0, 10) === displayTime(to, true, true).slice(0, 10);
    return `${displayTime(from, true, true)} → ${displayTime(to, true, !sameDay)} UTC`;
  }
  return `${renderBound(spec.min)} → ${renderBound(spec.max)}`;
}

/** The picker's name for a range: `label()`, except "" for an absolute range (its times say it all) and for
 * text that does not read as a range. */
export function describe(spec: RangeSpec): string {
  if (relativeOffset(spec.min) === null && relativeOffset(spec.max) === null) return "";
  try {
    return label(spec);
  } catch {
    return "";
  }
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** "2024-05-01 14:03:07" in local time or UTC. */
export function formatDateTime(ms: number, utc: boolean, withSeconds = true): string {
  const d = new Date(ms);
  const parts = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  const [y, mo, da, h, mi, s] = parts as [number, number, number, number, number, number];
  const time = withSeconds ? `${pad(h)}:${pad(mi)}:${pad(s)}` : `${pad(h)}:${pad(mi)}`;
  return `${y}-${pad(mo)}-${pad(da)} ${time}`;
}

/** One end as TimeRange.label() shows it: "2024-05-01 14:03", seconds only when not zero, optionally no date. */
export function displayTime(ms: number, utc: boolean, withDate: boolean): string {
  const d = new Date(ms);
  const seconds = utc ? d.getUTCSeconds() : d.getSeconds();
  const text = formatDateTime(ms, utc, seconds !== 0 || d.getMilliseconds() !== 0);
  return withDate ? text : text.slice(11);
}

/**
 * The current range in local (or UTC) time, written as TimeRange.label() writes an absolute range:
 * "2024-05-01 13:00 → 14:00:30" (the date once when both ends share it), " UTC" after it in UTC, and
 * "2024-05-01 13:00 → now" for a range open towards now (`untilNow`).
 */
export function formatRange(range: ResolvedRange, utc: boolean, untilNow = false): string {
  const zone = utc ? " UTC" : "";
  const from = displayTime(range.from, utc, true);
  if (untilNow) return `${from}${zone} → now`;
  const sameDay = from.slice(0, 10) === displayTime(range.to, utc, true).slice(0, 10);
  return `${from} → ${displayTime(range.to, utc, !sameDay)}${zone}`;
}

/**
 * What the picker's From / To field shows for one end: relative text as it is ("now-6h", "" for now), an
 * absolute instant as the range's label shows it ("2024-05-01 14:03", " UTC" after it in UTC).
 */
export function fieldText(expr: string, utc: boolean): string {
  if (relativeOffset(expr) !== null) return expr.trim().toLowerCase() === "now" ? "" : expr;
  try {
    return `${displayTime(parseTime(expr, 0), utc, true)}${utc ? " UTC" : ""}`;
  } catch {
    return expr;
  }
}

/** Value for an <input type="datetime-local"> in local time. */
export function toLocalInput(ms: number): string {
  return formatDateTime(ms, false, false).replace(" ", "T");
}

// Last in the module: building the labels uses the parsing above.
/** The quick ranges offered by the picker, 5 minutes to 30 days, named as TimeRange.label() names them. */
export const QUICK_RANGES: QuickRange[] = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h", "2d", "7d", "14d", "30d"].map(
  (amount) => {
    const min = renderBound(`now-${amount}`); // "now-24h" is written "now-1d", as the kernel writes it back
    return { label: label({ min, max: "" }), min };
  },
);
