/** The histogram of rows over the result's time column, its bars stacked by level when the source counts
 * them per level (Loki); dragging across it picks a new range. */
import { h } from "./dom";
import { formatCount, levelOf } from "./format";
import { formatDateTime } from "./range";

export interface Histogram {
  /** Bucket start times, epoch ms, ascending. */
  starts: number[];
  counts: number[];
  /** Bucket width in ms. */
  interval: number;
  /** The range the buckets cover, epoch ms. */
  from: number;
  to: number;
  /** Level name -> its count in each bucket (aligned with `starts`), when the source splits by level. */
  levels?: Record<string, number[]>;
}

// Stacking order, bottom up: the most severe at the baseline, where a few of them still show.
const SEVERITY = ["fatal", "error", "warn", "notice", "info", "debug", "trace", "unknown"];

/** One bar's segments, bottom up: each level's class, its name as written and its count. */
export interface Segment {
  cls: string;
  name: string;
  count: number;
}

/** The levels of a histogram in stacking order (the most severe first), with their colour classes. */
export function stackOrder(levels: Record<string, number[]>): { name: string; cls: string }[] {
  const rank = (cls: string): number => SEVERITY.indexOf(cls.slice("lf-level-".length));
  return Object.keys(levels)
    .map((name) => ({ name, cls: levelOf(name).cls }))
    .sort((a, b) => rank(a.cls) - rank(b.cls) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Bucket `i`'s segments, bottom up (none for a histogram without levels). */
export function segmentsOf(hist: Histogram, order: { name: string; cls: string }[], i: number): Segment[] {
  const levels = hist.levels;
  if (!levels) return [];
  return order.map(({ name, cls }) => ({ name, cls, count: levels[name]?.[i] ?? 0 })).filter((s) => s.count > 0);
}

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 52;
const AXIS = 16;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Pixel x to time, clamped to the range. */
export function xToTime(x: number, width: number, from: number, to: number): number {
  const f = Math.min(1, Math.max(0, x / Math.max(1, width)));
  return from + f * (to - from);
}

/** One drawn bar: its bucket, its box, and its segments' heights bottom up (one plain segment without levels). */
export interface Bar {
  index: number;
  x0: number;
  x1: number;
  segments: (Segment & { y: number; height: number })[];
}

/** Where each non-empty bucket's bar goes in a plot `width` pixels wide (HEIGHT tall). */
export function layoutBars(hist: Histogram, width: number): Bar[] {
  const span = Math.max(1, hist.to - hist.from);
  const max = Math.max(1, ...hist.counts);
  const scale = width / span;
  const barWidth = Math.max(1, hist.interval * scale - 1);
  const order = hist.levels ? stackOrder(hist.levels) : [];
  const bars: Bar[] = [];
  hist.starts.forEach((start, index) => {
    const count = hist.counts[index]!;
    // Buckets are aligned to the clock, so the first and last may reach past the range: clip them.
    const x0 = Math.max(0, (start - hist.from) * scale);
    const x1 = Math.min(width, (start - hist.from) * scale + barWidth);
    if (count === 0 || x1 - x0 < 0.5) return;
    const barHeight = Math.max(3, (count / max) * (HEIGHT - 4));
    const segments = segmentsOf(hist, order, index);
    if (segments.length === 0) segments.push({ cls: "", name: "", count });
    // Each level's share of the bar's height, bottom up; the bar's total height is kept exactly.
    let y = HEIGHT;
    const placed = segments.map((s) => {
      const height = (s.count / count) * barHeight;
      y -= height;
      return { ...s, y, height };
    });
    bars.push({ index, x0, x1, segments: placed });
  });
  return bars;
}

/** What hovering a bar says: its count and start, and its split by level. */
export function barText(hist: Histogram, bar: Bar, utc: boolean): string {
  const count = hist.counts[bar.index]!;
  const split = bar.segments.filter((s) => s.name).map((s) => `${formatCount(s.count)} ${s.name}`).join(", ");
  return `${formatCount(count)} rows from ${formatDateTime(hist.starts[bar.index]!, utc, true)}${split ? `: ${split}` : ""}`;
}
const DRAG_HINT = "Drag across the timeline to zoom into that range";
const round = (v: number): number => Math.round(v * 100) / 100;

export class Timeline {
  readonly el: HTMLElement;
  private readonly plot: SVGSVGElement;
  private readonly note: HTMLElement;
  private readonly tip: HTMLElement;
  private readonly hover: SVGRectElement;
  private hist: Histogram | null = null;
  private bars: Bar[] = [];
  private utc = false;
  private pending = false;
  private dragging = false;
  /** The width as last laid out (kept from resize callbacks: reading it while drawing forces layout). */
  private knownWidth = 0;
  private drawnWidth = 0;
  private readonly onSelect: (from: number, to: number) => void;

  constructor(onSelect: (from: number, to: number) => void) {
    this.onSelect = onSelect;
    this.plot = svg("svg", { class: "lf-timeline-svg", height: HEIGHT + AXIS });
    this.note = h("div", { class: "lf-timeline-note" });
    this.tip = h("div", { class: "lf-timeline-tip", role: "tooltip", hidden: "" });
    this.hover = svg("rect", { class: "lf-bar-hover", y: 0, height: HEIGHT, visibility: "hidden" });
    this.el = h("div", { class: "lf-timeline", title: DRAG_HINT });
    this.el.append(this.plot, this.note, this.tip);
    this.plot.addEventListener("pointerdown", (e) => this.startDrag(e));
    this.plot.addEventListener("pointermove", (e) => this.showHover(e.clientX - this.plot.getBoundingClientRect().left));
    this.plot.addEventListener("pointerleave", () => this.showHover(null));
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => {
        this.knownWidth = this.el.clientWidth; // layout is up to date in a resize callback
        if (this.knownWidth !== this.drawnWidth) this.draw();
      }).observe(this.el);
    }
  }

  set(hist: Histogram | null, note = ""): void {
    this.hist = hist;
    this.note.textContent = note;
    this.el.classList.toggle("lf-timeline-empty", !hist);
    this.draw();
  }

  /** While the shown result's timeline is still being counted: the old bars stay, dimmed, and no drag
   * starts on them (their range is not the result's). */
  setPending(pending: boolean): void {
    this.pending = pending;
    this.el.classList.toggle("lf-timeline-pending", pending);
  }

  setUtc(utc: boolean): void {
    if (utc === this.utc) return; // a picked range sets it again: nothing to redraw
    this.utc = utc;
    this.draw();
  }

  /** The width to draw at. Never read from the page here: a result's timeline may come in a message of its
   * own, after the rows, and reading a width then forced the page's style and layout in that task (~40 ms
   * on a busy machine). Until the first resize callback says, a guess; that callback, in the frame that
   * first lays the timeline out and before it is painted, draws it again at its width. */
  private width(): number {
    return this.knownWidth || 600;
  }

  /** The bars as one path per level (or one plain path), a few elements whatever the bucket count: a bar
   * of elements each made the first frame of a result style and lay out hundreds of nodes more. */
  private draw(): void {
    this.plot.textContent = "";
    this.showHover(null);
    const hist = this.hist;
    this.bars = [];
    if (!hist) return;
    const width = this.width();
    this.drawnWidth = width;
    this.plot.setAttribute("width", String(width));
    this.plot.setAttribute("viewBox", `0 0 ${width} ${HEIGHT + AXIS}`);
    this.bars = layoutBars(hist, width);
    const paths = new Map<string, { cls: string; d: string[] }>();
    for (const bar of this.bars) {
      for (const s of bar.segments) {
        let path = paths.get(s.name);
        if (!path) paths.set(s.name, (path = { cls: s.cls, d: [] }));
        path.d.push(`M${round(bar.x0)} ${round(s.y)}h${round(bar.x1 - bar.x0)}v${round(s.height)}h${round(bar.x0 - bar.x1)}z`);
      }
    }
    for (const [name, { cls, d }] of paths) {
      const path = svg("path", { class: `lf-bar${cls ? ` lf-bar-${cls.slice("lf-level-".length)}` : ""}`, d: d.join("") });
      if (name) path.dataset.level = name;
      this.plot.append(path);
    }
    this.plot.dataset.bars = String(this.bars.length);
    this.plot.append(this.hover);
    const span = Math.max(1, hist.to - hist.from);
    this.plot.append(svg("line", { class: "lf-axis", x1: 0, x2: width, y1: HEIGHT + 0.5, y2: HEIGHT + 0.5 }));
    const ticks = Math.max(2, Math.min(6, Math.floor(width / 150)));
    for (let t = 0; t <= ticks; t++) {
      const time = hist.from + (span * t) / ticks;
      const label = formatDateTime(time, this.utc, false);
      const text = svg("text", {
        class: "lf-tick",
        x: (t / ticks) * width,
        y: HEIGHT + AXIS - 3,
        "text-anchor": t === 0 ? "start" : t === ticks ? "end" : "middle",
      });
      // The date only where it changes, or on the first tick.
      const previous = t === 0 ? "" : formatDateTime(hist.from + (span * (t - 1)) / ticks, this.utc, false);
      text.textContent = previous.slice(0, 10) === label.slice(0, 10) ? label.slice(11) : label.slice(5);
      this.plot.append(text);
    }
  }

  /** Lights up the bar under pixel `x` and says its count (null: none). */
  private showHover(x: number | null): void {
    const bar = x === null || this.dragging ? undefined : this.bars.find((b) => x >= b.x0 - 0.5 && x < b.x1 + 0.5);
    if (!bar || !this.hist) {
      this.hover.setAttribute("visibility", "hidden");
      this.tip.hidden = true;
      this.el.title = DRAG_HINT;
      return;
    }
    // The bar's own tooltip says it; the browser's hint would pop up beside it after a delay.
    this.el.title = "";
    this.hover.setAttribute("x", String(bar.x0));
    this.hover.setAttribute("width", String(bar.x1 - bar.x0));
    this.hover.setAttribute("visibility", "visible");
    this.tip.textContent = barText(this.hist, bar, this.utc);
    // Beside the bar, on the side with room (the right half's bars have theirs to their left).
    const left = bar.x0 > this.drawnWidth / 2;
    this.tip.style.left = `${Math.round(left ? bar.x0 : bar.x1)}px`;
    this.tip.classList.toggle("lf-tip-left", left);
    this.tip.hidden = false;
  }

  private startDrag(e: PointerEvent): void {
    const hist = this.hist;
    if (!hist || this.pending || e.button !== 0) return;
    e.preventDefault();
    this.dragging = true;
    this.showHover(null);
    const box = this.plot.getBoundingClientRect();
    const x0 = e.clientX - box.left;
    const sel = svg("rect", { class: "lf-selection", x: x0, y: 0, width: 0, height: HEIGHT });
    this.plot.append(sel);
    this.plot.setPointerCapture?.(e.pointerId);
    const move = (ev: PointerEvent): void => {
      const x = Math.min(box.width, Math.max(0, ev.clientX - box.left));
      sel.setAttribute("x", String(Math.min(x0, x)));
      sel.setAttribute("width", String(Math.abs(x - x0)));
    };
    const up = (ev: PointerEvent): void => {
      this.plot.removeEventListener("pointermove", move);
      this.plot.removeEventListener("pointerup", up);
      this.dragging = false;
      const x1 = Math.min(box.width, Math.max(0, ev.clientX - box.left));
      if (Math.abs(x1 - x0) < 4) {
        sel.remove();
        return;
      }
      const a = xToTime(Math.min(x0, x1), box.width, hist.from, hist.to);
      const b = xToTime(Math.max(x0, x1), box.width, hist.from, hist.to);
      this.onSelect(Math.floor(a), Math.ceil(b));
    };
    this.plot.addEventListener("pointermove", move);
    this.plot.addEventListener("pointerup", up);
  }
}
