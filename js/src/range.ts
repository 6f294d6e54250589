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
const UNIT_WORDS: Record<string, string> = {
  s: "second",
  m: "minute",
  h: "hour",
  d: "day",
  w: "week",
};

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

/** The quick ranges offered by the picker, 5 minutes to 30 days. */
export const QUICK_RANGES: QuickRange[] = [
  ["5m", "Last 5 minutes"],
  ["15m", "Last 15 minutes"],
  ["30m", "Last 30 minutes"],
  ["1h", "Last 1 hour"],
  ["3h", "Last 3 hours"],
  ["6h", "Last 6 hours"],
  ["12h", "Last 12 hours"],
  ["24h", "Last 24 hours"],
  ["2d", "Last 2 days"],
  ["7d", "Last 7 days"],
  ["14d", "Last 14 days"],
  ["30d", "Last 30 days"],
].map(([amount, label]) => ({ label: label as string, min: `now-${amount}` }));

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

/** One end of a range as epoch ms; throws a one-sentence Error for text it cannot read. */
export function parseTime(expr: string, now: number): number {
  const offset = relativeOffset(expr);
  if (offset !== null) return now + offset;
  const text = expr.trim();
  // A date alone means local midnight, as a user typing "2024-05-01" expects.
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00` : text;
  const ms = Date.parse(dateOnly);
  if (Number.isNaN(ms)) {
    throw new Error(`"${expr}" is not a time: use now-6h, 15m, 7d or an ISO time like 2024-05-01T12:00.`);
  }
  return ms;
}

export function resolveRange(spec: RangeSpec, now: number): ResolvedRange {
  const from = parseTime(spec.min, now);
  const to = spec.max.trim() === "" ? now : parseTime(spec.max, now);
  if (from >= to) throw new Error("The start of the range must be before its end.");
  return { from, to };
}

/** Shortest exact relative amount: 5400000 -> "90m", 7200000 -> "2h". */
export function formatAmount(ms: number): string {
  const abs = Math.abs(ms);
  // Days rather than weeks, as the Python side writes them ("now-7d").
  for (const unit of ["d", "h", "m", "s"]) {
    const size = UNIT_MS[unit]!;
    if (abs >= size && abs % size === 0) return `${abs / size}${unit}`;
  }
  return `${Math.round(abs / 1000)}s`;
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

/** "Last 1 hour" for a quick range, "now-2d → now-1d" for other relative ones, else "". */
export function describe(spec: RangeSpec): string {
  const max = spec.max.trim();
  if (max === "" || max === "now") {
    const offset = relativeOffset(spec.min);
    // By amount, not text: the kernel writes "now-24h" back as "now-1d".
    const quick = QUICK_RANGES.find((q) => relativeOffset(q.min) === offset);
    if (quick) return quick.label;
    if (offset !== null && offset < 0) {
      const amount = formatAmount(offset);
      const match = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(amount);
      if (match) {
        const n = Number(match[1]);
        return `Last ${n} ${UNIT_WORDS[match[2]!]}${n === 1 ? "" : "s"}`;
      }
    }
  }
  if (isRelative(spec)) return `${spec.min.trim()} → ${max === "" ? "now" : max}`;
  return "";
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

/** The current range in local (or UTC) time: "2024-05-01 13:00 → 14:00" when both ends share a day. */
export function formatRange(range: ResolvedRange, utc: boolean): string {
  const a = formatDateTime(range.from, utc, false);
  const b = formatDateTime(range.to, utc, false);
  const sameDay = a.slice(0, 10) === b.slice(0, 10);
  return `${a} → ${sameDay ? b.slice(11) : b}${utc ? " UTC" : ""}`;
}

/** Value for an <input type="datetime-local"> in local time. */
export function toLocalInput(ms: number): string {
  return formatDateTime(ms, false, false).replace(" ", "T");
}
