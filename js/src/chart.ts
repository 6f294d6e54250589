/**
 * A result drawn as a time series (the widget's Chart view), with uPlot: lines, stacked bars or stacked areas.
 *
 * - `chooseAxes` picks what to draw from the result's columns: x is the first timestamp column, y every
 *   numeric column, and the first text (else level) column splits the rows into series. The kernel's traits
 *   (`chart_x`, `chart_y`, `chart_series`) override each choice when they name a column the result has.
 * - The rows come from the kernel, sorted by x (a "chart" request, see logfire_notebook/_chart.py);
 *   `pivot` turns them into uPlot's aligned columns, one per series.
 * - The x axis is the widget's range; dragging across the plot picks a new range, as the timeline does.
 * - Hovering shows the exact values in the legend (stacked areas too: the legend reads the unstacked ones).
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ColumnInfo, Data, Kind } from "./arrow";
import { h } from "./dom";
import { levelOf } from "./format";
import { formatDateTime } from "./range";

export type ChartKind = "line" | "bar" | "area";
export const CHART_KINDS: [ChartKind, string][] = [
  ["line", "Lines"],
  ["bar", "Stacked bars"],
  ["area", "Stacked areas"],
];

export interface ChartChoice {
  x: string;
  y: string[];
  /** The column whose values split the rows into series ("" for one series per y column). */
  series: string;
}

export interface ColumnLike {
  name: string;
  kind: Kind;
}

const NUMERIC: Kind[] = ["number", "duration"];

/** What to draw, or null when the result has no time column or no numeric column. */
export function chooseAxes(columns: ColumnLike[], wanted: Partial<ChartChoice> = {}): ChartChoice | null {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const isTime = (c: ColumnLike | undefined): boolean => c?.kind === "timestamp" || c?.kind === "date";
  const x = wanted.x && isTime(byName.get(wanted.x)) ? wanted.x : columns.find(isTime)?.name;
  if (!x) return null;
  const pickedY = (wanted.y ?? []).filter((name) => name !== x && NUMERIC.includes(byName.get(name)?.kind ?? "other"));
  const y = pickedY.length ? pickedY : columns.filter((c) => c.name !== x && NUMERIC.includes(c.kind)).map((c) => c.name);
  if (!y.length) return null;
  // Loki's metric rows carry their series as a `labels` map.
  const isLabels = (c: ColumnLike | undefined): boolean => c?.kind === "json" && c.name === "labels";
  const canSplit = (c: ColumnLike | undefined): boolean => c?.kind === "text" || c?.kind === "level" || isLabels(c);
  let series = wanted.series && canSplit(byName.get(wanted.series)) ? wanted.series : "";
  if (!wanted.series) {
    const found = columns.find((c) => c.kind === "text") ?? columns.find((c) => c.kind === "level") ?? columns.find(isLabels);
    series = found?.name ?? "";
  }
  return { x, y, series };
}

export interface Series {
  label: string;
  /** One value per x (NaN: the series has no row there), a typed array: no JS object per point. */
  values: Float64Array;
  /** The level name when the series is one of Logfire's levels (it is coloured like the table's). */
  level?: string;
}

export interface Pivoted {
  xs: Float64Array;
  series: Series[];
}

/** A label set as Loki writes it, `{job="api", level="error"}`, from a map as Arrow gives it. */
export function labelsText(value: unknown): string {
  let pairs: [string, unknown][] = [];
  if (value instanceof Map) pairs = [...value.entries()] as [string, unknown][];
  else if (Array.isArray(value)) {
    pairs = value.map((p) => (Array.isArray(p) ? [String(p[0]), p[1]] : [String(p?.key), p?.value])) as [string, unknown][];
  } else if (value && typeof value === "object") pairs = Object.entries(value);
  else return String(value);
  return `{${pairs.map(([k, v]) => `${k}="${String(v)}"`).join(", ")}}`;
}

/** A column as numbers (NaN for null): the kernel sends float64, read without a copy; other types convert. */
function numbers(values: ArrayLike<unknown>, nulls: (i: number) => boolean): Float64Array {
  const out = values instanceof Float64Array ? values : new Float64Array(values.length);
  if (out !== values) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      out[i] = v === null || v === undefined ? NaN : typeof v === "bigint" ? Number(v) : (v as number);
    }
  }
  // A typed array of a column with nulls holds some value in their slots: mark them.
  for (let i = 0; i < out.length; i++) if (nulls(i)) out[i] = NaN;
  return out;
}

function columnNumbers(col: ColumnInfo): Float64Array {
  const column = col.column;
  const raw = column.toArray() as ArrayLike<unknown>;
  if (!column.nullCount) return numbers(raw, () => false);
  // Float64 data may be a view of the message's buffer: mark the nulls in a copy.
  return numbers(raw instanceof Float64Array ? Float64Array.from(raw) : raw, (i) => column.at(i) === null);
}

/**
 * One aligned column per series: rows sharing an x and a series key are summed (a level column's 9 and 10
 * are two series, as the table names them; two rows of the same key at one instant add up, as counts do).
 * The kernel sends rows sorted by x (then one pass finds the distinct xs); other input is sorted first.
 */
export function pivot(data: Data, choice: ChartChoice): Pivoted {
  const col = (name: string) => data.columns.find((c) => c.name === name);
  const xCol = col(choice.x)!;
  const yCols = choice.y.map((name) => col(name)!).filter(Boolean);
  const sCol = choice.series ? col(choice.series) : undefined;
  const n = data.numRows;
  const xv = columnNumbers(xCol);
  const yv = yCols.map(columnNumbers);
  const sv = sCol ? (sCol.column.toArray() as ArrayLike<unknown>) : null;

  let order: Int32Array | null = null;
  for (let i = 1; i < n; i++) {
    if (xv[i]! < xv[i - 1]!) {
      order = Int32Array.from({ length: n }, (_, k) => k).sort((a, b) => xv[a]! - xv[b]!);
      break;
    }
  }
  const row = (k: number): number => (order ? order[k]! : k);
  // The slot (distinct x) of each row, in x order; rows without an x get -1.
  const slotOf = new Int32Array(n).fill(-1);
  const xs: number[] = [];
  for (let k = 0; k < n; k++) {
    const i = row(k);
    const x = xv[i]!;
    if (Number.isNaN(x)) continue;
    if (!xs.length || xs[xs.length - 1] !== x) xs.push(x);
    slotOf[i] = xs.length - 1;
  }

  const groups = new Map<string, Series>();
  const seriesOf = (key: string, level: string | undefined, y: string): Series => {
    const label = sCol ? (yCols.length > 1 ? `${key} · ${y}` : key) : y;
    let s = groups.get(label);
    if (!s) {
      s = { label, values: new Float64Array(xs.length).fill(NaN), ...(level ? { level } : {}) };
      groups.set(label, s);
    }
    return s;
  };
  // The series of each row, found once per distinct value (a dictionary column repeats a few).
  const rowSeries = new Map<unknown, Series[]>();
  const seriesOfRow = (i: number): Series[] => {
    const v = sv ? sv[i] : "";
    let found = rowSeries.get(v);
    if (!found) {
      let key = "";
      let level: string | undefined;
      if (sCol) {
        if (v === null || v === undefined) key = "(none)";
        else if (sCol.kind === "level") key = level = levelOf(Number(v)).name;
        else if (sCol.kind === "json") key = labelsText(v);
        else key = String(v);
      }
      found = yCols.map((y) => seriesOf(key, level, y.name));
      rowSeries.set(v, found);
    }
    return found;
  };
  for (let k = 0; k < n; k++) {
    const i = row(k);
    const slot = slotOf[i]!;
    if (slot < 0) continue;
    const targets = seriesOfRow(i);
    for (let j = 0; j < targets.length; j++) {
      const v = yv[j]![i]!;
      if (Number.isNaN(v) || !Number.isFinite(v)) continue;
      const values = targets[j]!.values;
      const was = values[slot]!;
      values[slot] = Number.isNaN(was) ? v : was + v;
    }
  }
  return { xs: Float64Array.from(xs), series: [...groups.values()] };
}

/** Running sums across series, bottom first (a missing value counts as 0), for stacked areas and bars. */
export function stack(series: Series[]): Float64Array[] {
  const sums = new Float64Array(series.length ? series[0]!.values.length : 0);
  return series.map((s) => {
    const out = new Float64Array(sums.length);
    const values = s.values;
    for (let i = 0; i < sums.length; i++) {
      const v = values[i]!;
      sums[i] = sums[i]! + (Number.isNaN(v) ? 0 : v);
      out[i] = sums[i]!;
    }
    return out;
  });
}

/** What uPlot draws: the xs and one column per series (null: a gap), maybe fewer than the result's points. */
export interface Drawn {
  xs: Float64Array;
  columns: (number | null)[][];
}

function nullable(values: Float64Array): (number | null)[] {
  return Array.from(values, (v) => (Number.isNaN(v) ? null : v));
}

/**
 * What to draw when there are more points than pixels across (else every point): per pixel column, each
 * line's lowest and highest value (in the order they came), or the stack at the column's highest total for
 * bars and areas (their silhouette). Canvas2D then rasterizes a few edges per column instead of dozens (a
 * noisy series of 20,000 points zig-zags across every scanline); the picture is the same, and hovering reads
 * the exact values from the full result (see `nearest`).
 */
export function decimate(pivoted: Pivoted, kind: ChartKind, from: number, to: number, width: number): Drawn {
  const { xs, series } = pivoted;
  const n = xs.length;
  const stacked = kind === "line" ? null : stack(series);
  const full = stacked ?? series.map((s) => s.values);
  if (n <= width * 2 || to <= from) return { xs, columns: full.map(nullable) };
  const outX: number[] = [];
  const out: (number | null)[][] = full.map(() => []);
  const scale = width / (to - from);
  let start = 0;
  while (start < n) {
    const column = Math.floor((xs[start]! - from) * scale);
    let end = start + 1;
    while (end < n && Math.floor((xs[end]! - from) * scale) === column) end++;
    if (stacked) {
      const top = stacked[stacked.length - 1]!;
      let best = start;
      for (let i = start + 1; i < end; i++) if (top[i]! > top[best]!) best = i;
      outX.push(xs[best]!);
      stacked.forEach((values, j) => out[j]!.push(values[best]!));
    } else {
      // Two slots per column, at its first and last instant: each series' low and high, in time order.
      const two = end - start > 1;
      outX.push(xs[start]!);
      if (two) outX.push(xs[end - 1]!);
      full.forEach((values, j) => {
        let lo = -1;
        let hi = -1;
        for (let i = start; i < end; i++) {
          const v = values[i]!;
          if (Number.isNaN(v)) continue;
          if (lo < 0 || v < values[lo]!) lo = i;
          if (hi < 0 || v > values[hi]!) hi = i;
        }
        const column = out[j]!;
        if (lo < 0) column.push(...(two ? [null, null] : [null]));
        else if (!two) column.push(values[lo]!);
        else column.push(values[Math.min(lo, hi)]!, values[Math.max(lo, hi)]!);
      });
    }
    start = end;
  }
  return { xs: Float64Array.from(outX), columns: out };
}

/** The index of the instant nearest `x` in sorted `xs` (-1 when there are none). */
export function nearest(xs: Float64Array, x: number): number {
  if (!xs.length) return -1;
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && x - xs[lo - 1]! < xs[lo]! - x ? lo - 1 : lo;
}

/**
 * A stacked area's paths: its top line, and the polygon between it and the series below (uPlot's bands would
 * clip each fill with the series below: Canvas2D rasterizes such clips slowly, a plain polygon at once).
 */
const stackedArea: uPlot.Series.PathBuilder = (u, si, i0, i1) => {
  const xs = u.data[0]!;
  const top = u.data[si]!;
  const below = si > 1 ? u.data[si - 1]! : null;
  const stroke = new Path2D();
  const fill = new Path2D();
  for (let i = i0; i <= i1; i++) {
    const x = u.valToPos(xs[i]!, "x", true);
    const y = u.valToPos(top[i] ?? 0, "y", true);
    if (i === i0) {
      stroke.moveTo(x, y);
      fill.moveTo(x, y);
    } else {
      stroke.lineTo(x, y);
      fill.lineTo(x, y);
    }
  }
  for (let i = i1; i >= i0; i--) fill.lineTo(u.valToPos(xs[i]!, "x", true), u.valToPos(below ? (below[i] ?? 0) : 0, "y", true));
  fill.closePath();
  return { stroke, fill };
};

// The table's level colours (widget.css .lf-level-*), so a level reads the same in both views.
const LEVEL_COLOURS: Record<string, string> = {
  trace: "#6b7280",
  debug: "#2563eb",
  info: "#0284c7",
  notice: "#059669",
  warn: "#d97706",
  error: "#dc2626",
  fatal: "#7f1d1d",
};
const PALETTE = ["#8b5cf6", "#0ea5e9", "#f59e0b", "#10b981", "#ef4444", "#ec4899", "#6366f1", "#84cc16", "#14b8a6", "#a855f7"];

export function colourOf(s: Series, index: number): string {
  return (s.level && LEVEL_COLOURS[s.level]) || PALETTE[index % PALETTE.length]!;
}

const HEIGHT = 260;

export class ChartView {
  readonly el: HTMLElement;
  private readonly plotEl: HTMLElement;
  private readonly note: HTMLElement;
  private plot: uPlot | null = null;
  private draws = 0;
  private last: { pivoted: Pivoted; kind: ChartKind; from: number; to: number; utc: boolean } | null = null;
  private readonly resize: ResizeObserver | null = null;

  constructor(private readonly onSelect: (from: number, to: number) => void) {
    this.plotEl = h("div", { class: "lf-chart-plot" });
    this.note = h("div", { class: "lf-chart-note", hidden: "" });
    this.el = h("div", { class: "lf-chart", title: "Drag across the chart to zoom into that range" }, this.plotEl, this.note);
    if (typeof ResizeObserver !== "undefined") {
      this.resize = new ResizeObserver(() => {
        const width = this.width();
        if (this.plot && Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: HEIGHT });
      });
      this.resize.observe(this.el);
    }
  }

  /** Says why there is nothing to draw (or "" to clear). */
  setNote(text: string): void {
    this.note.textContent = text;
    this.note.hidden = !text;
    if (text) this.clear();
  }

  draw(pivoted: Pivoted, kind: ChartKind, from: number, to: number, utc: boolean): void {
    this.last = { pivoted, kind, from, to, utc };
    this.clear();
    // More points than pixels across: draw what shows (see `decimate`); bars and areas stack (a count per
    // service reads as the total and its parts), lines do not.
    const width = this.width();
    const drawn = decimate(pivoted, kind, from, to, width);
    const data = [drawn.xs, ...drawn.columns] as unknown as uPlot.AlignedData;
    // More bars than half the pixels across: each would be under 2 px, and Canvas2D fills thousands of
    // sub-pixel rects slowly. A filled step line draws the same silhouette at once.
    const dense = drawn.xs.length > width / 2;
    const bars = dense ? uPlot.paths.stepped?.({ align: 1 }) : uPlot.paths.bars?.({ size: [0.7, 40], align: 0 });
    // The legend shows the result's own row nearest the cursor, whatever was drawn.
    const hovered = (u: uPlot): number =>
      u.cursor.left === undefined || u.cursor.left < 0 ? -1 : nearest(pivoted.xs, u.posToVal(u.cursor.left, "x"));
    const exact = (si: number) => (u: uPlot, _v: number | null, _s: number, idx: number | null) => {
      const at = idx === null ? -1 : hovered(u);
      const v = at < 0 ? NaN : pivoted.series[si]!.values[at]!;
      return Number.isNaN(v) ? "–" : v.toLocaleString();
    };
    const opts: uPlot.Options = {
      width,
      height: HEIGHT,
      ms: 1,
      ...(utc ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts), "Etc/UTC") } : {}),
      scales: { x: { time: true, range: () => [from, to] } },
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { live: true },
      series: [
        {
          label: "time",
          value: (u, v) => {
            const at = v === null ? -1 : hovered(u);
            return at < 0 ? "–" : formatDateTime(pivoted.xs[at]!, utc, true);
          },
        },
        ...pivoted.series.map((s, i): uPlot.Series => {
          const colour = colourOf(s, i);
          return {
            label: s.label,
            stroke: colour,
            width: kind === "bar" ? 0 : 1.5,
            fill: kind === "line" ? undefined : kind === "bar" ? colour : `${colour}55`,
            points: { show: false },
            spanGaps: kind !== "line",
            value: exact(i),
            ...(kind === "bar" && bars ? { paths: bars } : kind === "area" ? { paths: stackedArea } : {}),
          };
        }),
      ],
      axes: [{ stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.15)" } }, { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.15)" } }],
      hooks: {
        setSelect: [(u) => this.selected(u)],
        // What the tests and the benchmark wait for: the points are painted into the canvas.
        draw: [() => (this.el.dataset.drawn = String(++this.draws))],
      },
    };
    this.plot = new uPlot(opts, data, this.plotEl);
    this.el.dataset.points = String(pivoted.xs.length * pivoted.series.length);
    this.el.dataset.drawnPoints = String(drawn.xs.length * pivoted.series.length);
    this.el.dataset.series = String(pivoted.series.length);
  }

  setUtc(utc: boolean): void {
    const last = this.last;
    if (last && last.utc !== utc) this.draw(last.pivoted, last.kind, last.from, last.to, utc);
  }

  private selected(u: uPlot): void {
    const { left, width } = u.select;
    if (width < 4) return;
    const from = u.posToVal(left, "x");
    const to = u.posToVal(left + width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.onSelect(Math.floor(from), Math.ceil(to));
  }

  private width(): number {
    return Math.max(200, this.el.clientWidth || 600);
  }

  private clear(): void {
    this.plot?.destroy();
    this.plot = null;
    this.el.dataset.points = "0";
  }

  destroy(): void {
    this.resize?.disconnect();
    this.clear();
  }
}
