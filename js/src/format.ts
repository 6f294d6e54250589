/** How one cell value reads: levels, durations, numbers, JSON text. Pure functions, no DOM. */

export interface Level {
  /** As shown: the number's name, or the word as written. */
  name: string;
  /** CSS class carrying the colour, see widget.css. */
  cls: string;
}

// Logfire's level numbers (OpenTelemetry severity): the name of the highest threshold not above the value.
const LEVELS: [number, string][] = [
  [21, "fatal"],
  [17, "error"],
  [13, "warn"],
  [10, "notice"],
  [9, "info"],
  [5, "debug"],
  [1, "trace"],
];

/** A level as a number (Logfire's) or a word (Loki's `level` column). */
export function levelOf(value: number | string): Level {
  if (typeof value === "string") return levelNamed(value);
  for (const [threshold, name] of LEVELS) {
    if (value >= threshold) return { name, cls: `lf-level-${name}` };
  }
  return { name: String(value), cls: "lf-level-unknown" };
}

// Level words as loggers write them (Loki's detected_level, logfmt's level=), to the names above.
const LEVEL_WORDS: Record<string, string> = {
  trace: "trace",
  debug: "debug",
  dbg: "debug",
  info: "info",
  information: "info",
  informational: "info",
  notice: "notice",
  warn: "warn",
  warning: "warn",
  error: "error",
  err: "error",
  eror: "error",
  fatal: "fatal",
  critical: "fatal",
  crit: "fatal",
  panic: "fatal",
  emerg: "fatal",
  alert: "fatal",
};

/** A level written as a word (`"WARNING"`, `"err"`), coloured as the table colours Logfire's levels;
 * the name shown is the word as written. */
export function levelNamed(word: string): Level {
  const known = LEVEL_WORDS[word.trim().toLowerCase()];
  return { name: word, cls: `lf-level-${known ?? "unknown"}` };
}

function trim(n: number, digits: number): string {
  return String(Number(n.toFixed(digits)));
}

/** Seconds as a person reads them: 850 µs, 12.3 ms, 1.25 s, 2 min 5 s, 3 h 20 min, 2 d 4 h. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  const sign = seconds < 0 ? "-" : "";
  const s = Math.abs(seconds);
  if (s === 0) return "0 s";
  if (s < 1e-6) return `${sign}${trim(s * 1e9, 0)} ns`;
  if (s < 1e-3) return `${sign}${trim(s * 1e6, s < 1e-5 ? 2 : 1)} µs`;
  if (s < 1) return `${sign}${trim(s * 1e3, s < 1e-2 ? 2 : 1)} ms`;
  if (s < 60) return `${sign}${trim(s, s < 10 ? 2 : 1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${sign}${Math.floor(whole / 60)} min ${whole % 60} s`;
  if (whole < 86400) return `${sign}${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
  return `${sign}${Math.floor(whole / 86400)} d ${Math.floor((whole % 86400) / 3600)} h`;
}

/** Compact elapsed time for the status line. */
export function formatElapsed(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${trim(ms / 1000, 2)} s`;
}

const NUMBER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 6 });
const COUNT = new Intl.NumberFormat("en-US");

export function formatNumber(n: number | bigint): string {
  if (typeof n === "bigint") return n.toLocaleString("en-US");
  return NUMBER.format(n);
}

export function formatCount(n: number): string {
  return COUNT.format(n);
}

/** Parsed JSON when `text` looks like an object or array, else undefined. */
export function parseJsonText(text: string): unknown {
  const first = text.trimStart()[0];
  if (first !== "{" && first !== "[") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One-line preview of a JSON value: {"a":1,"b":[2,3]} → {a: 1, b: [2, 3]}. */
export function jsonPreview(value: unknown, budget = 160): string {
  let out = "";
  const walk = (v: unknown): void => {
    if (out.length > budget) return;
    if (Array.isArray(v)) {
      out += "[";
      v.forEach((item, i) => {
        if (i) out += ", ";
        walk(item);
      });
      out += "]";
    } else if (v !== null && typeof v === "object") {
      out += "{";
      Object.entries(v as Record<string, unknown>).forEach(([k, item], i) => {
        if (i) out += ", ";
        out += `${k}: `;
        walk(item);
      });
      out += "}";
    } else {
      out += JSON.stringify(v);
    }
  };
  walk(value);
  return out.length > budget ? `${out.slice(0, budget)}…` : out;
}
