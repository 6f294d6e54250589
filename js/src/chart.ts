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
import type { Data, Kind } from "./arrow";
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
  values: (number | null)[];
  /** The level name when the series is one of Logfire's levels (it is coloured like the table's). */
  level?: string;
}

export interface Pivoted {
  xs: number[];
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

function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = typeof value === "bigint" ? Number(value) : (value as number);
  return typeof n === "number" && Number.isFinite(n) ? n : null;
}

/**
 * One aligned column per series: rows sharing an x and a series key are summed (a level column's 9 and 10
 * are two series, as the table names them; two rows of the same key at one instant add up, as counts do).
 */
export function pivot(data: Data, choice: ChartChoice): Pivoted {
  const col = (name: string) => data.columns.find((c) => c.name === name);
  const xCol = col(choice.x)!;
  const yCols = choice.y.map((name) => col(name)!).filter(Boolean);
  const sCol = choice.series ? col(choice.series) : undefined;
  const n = data.numRows;
  const xIndex = new Map<number, number>();
  const xs: number[] = [];
  const rowX = new Int32Array(n).fill(-1);
  const xv = xCol.column.toArray() as ArrayLike<unknown>;
  const yv = yCols.map((y) => y.column.toArray() as ArrayLike<unknown>);
  const sv = sCol ? (sCol.column.toArray() as ArrayLike<unknown>) : null;
  for (let i = 0; i < n; i++) {
    const x = toNumber(xv[i]);
    if (x === null) continue;
    let slot = xIndex.get(x);
    if (slot === undefined) {
      slot = xs.length;
      xIndex.set(x, slot);
      xs.push(x);
    }
    rowX[i] = slot;
  }
  // The kernel sends rows sorted by x; sort anyway so a local DataFrame in any order draws right.
  const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  const rank = new Int32Array(xs.length);
  order.forEach((slot, r) => (rank[slot] = r));
  const sortedXs = order.map((slot) => xs[slot]!);

  const groups = new Map<string, Series>();
  const seriesOf = (key: string, level: string | undefined, y: string): Series => {
    const label = sCol ? (yCols.length > 1 ? `${key} · ${y}` : key) : y;
    let s = groups.get(label);
    if (!s) {
      s = { label, values: new Array<number | null>(sortedXs.length).fill(null), ...(level ? { level } : {}) };
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
        else if (sCol.kind === "level") {
          const named = levelOf(typeof v === "string" ? v : Number(v));
          key = named.name;
          level = named.cls.slice("lf-level-".length); // the colour's name: "WARNING" is coloured as warn
        } else if (sCol.kind === "json") key = labelsText(v);
        else key = String(v);
      }
      found = yCols.map((y) => seriesOf(key, level, y.name));
      rowSeries.set(v, found);
    }
    return found;
  };
  for (let i = 0; i < n; i++) {
    const slot = rowX[i]!;
    if (slot < 0) continue;
    const at = rank[slot]!;
    const targets = seriesOfRow(i);
    for (let j = 0; j < targets.length; j++) {
      const v = toNumber(yv[j]![i]);
      if (v === null) continue;
      const values = targets[j]!.values;
      values[at] = (values[at] ?? 0) + v;
    }
  }
  return { xs: sortedXs, series: [...groups.values()] };
}

/** Running sums across series, bottom first (nulls count as 0), for stacked areas. */
export function stack(series: Series[]): (number | null)[][] {
  const sums = series.length ? series[0]!.values.map(() => 0) : [];
  return series.map((s) =>
    s.values.map((v, i) => {
      sums[i] = sums[i]! + (v ?? 0);
      return sums[i]!;
    }),
  );
}

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
    // Bars and areas stack (a count per service reads as the total and its parts); lines do not.
    const stacked = kind === "line" ? null : stack(pivoted.series);
    const data = [pivoted.xs, ...(stacked ?? pivoted.series.map((s) => s.values))] as uPlot.AlignedData;
    // More bars than half the pixels across: each would be under 2 px, and Canvas2D fills 100,000 sub-pixel
    // rects slowly (seconds). A filled step line draws the same silhouette at once.
    const dense = pivoted.xs.length > this.width() / 2;
    const bars = dense ? uPlot.paths.stepped?.({ align: 1 }) : uPlot.paths.bars?.({ size: [0.7, 40], align: 0 });
    const exact = (si: number) => (_u: uPlot, _v: number | null, _s: number, idx: number | null) => {
      const v = idx === null ? null : pivoted.series[si]!.values[idx];
      return v === null || v === undefined ? "–" : v.toLocaleString();
    };
    const opts: uPlot.Options = {
      width: this.width(),
      height: HEIGHT,
      ms: 1,
      ...(utc ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts), "Etc/UTC") } : {}),
      scales: { x: { time: true, range: () => [from, to] } },
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { live: true },
      series: [
        { label: "time", value: (_u, v) => (v === null ? "–" : formatDateTime(v, utc, true)) },
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
            ...(kind === "bar" && bars ? { paths: bars } : {}),
          };
        }),
      ],
      // Stacked areas fill between each series and the one below it.
      bands: stacked ? pivoted.series.slice(1).map((_, i) => ({ series: [i + 2, i + 1] as [number, number] })) : [],
      axes: [{ stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.15)" } }, { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.15)" } }],
      hooks: {
        setSelect: [(u) => this.selected(u)],
        // What the tests and the benchmark wait for: the points are painted into the canvas.
        draw: [() => (this.el.dataset.drawn = String(++this.draws))],
      },
    };
    this.plot = new uPlot(opts, data, this.plotEl);
    this.el.dataset.points = String(pivoted.xs.length * pivoted.series.length);
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
