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

export class Timeline {
  readonly el: HTMLElement;
  private readonly plot: SVGSVGElement;
  private readonly note: HTMLElement;
  private hist: Histogram | null = null;
  private utc = false;
  private pending = false;
  /** The width as last laid out (kept from resize callbacks: reading it while drawing forces layout). */
  private knownWidth = 0;
  private readonly onSelect: (from: number, to: number) => void;

  constructor(onSelect: (from: number, to: number) => void) {
    this.onSelect = onSelect;
    this.plot = svg("svg", { class: "lf-timeline-svg", height: HEIGHT + AXIS });
    this.note = h("div", { class: "lf-timeline-note" });
    this.el = h("div", { class: "lf-timeline", title: "Drag across the timeline to zoom into that range" });
    this.el.append(this.plot, this.note);
    this.plot.addEventListener("pointerdown", (e) => this.startDrag(e));
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => {
        this.knownWidth = this.el.clientWidth;
        this.draw();
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

  private width(): number {
    return this.knownWidth || this.el.clientWidth || 600;
  }

  private draw(): void {
    this.plot.textContent = "";
    const hist = this.hist;
    if (!hist) return;
    const width = this.width();
    this.plot.setAttribute("width", String(width));
    this.plot.setAttribute("viewBox", `0 0 ${width} ${HEIGHT + AXIS}`);
    const span = Math.max(1, hist.to - hist.from);
    const max = Math.max(1, ...hist.counts);
    const scale = width / span;
    const barWidth = Math.max(1, hist.interval * scale - 1);
    const order = hist.levels ? stackOrder(hist.levels) : [];
    hist.starts.forEach((start, i) => {
      const count = hist.counts[i]!;
      // Buckets are aligned to the clock, so the first and last may reach past the range: clip them.
      const x0 = Math.max(0, (start - hist.from) * scale);
      const x1 = Math.min(width, (start - hist.from) * scale + barWidth);
      if (count === 0 || x1 - x0 < 0.5) return;
      const barHeight = Math.max(3, (count / max) * (HEIGHT - 4));
      const bar = svg("g", { class: "lf-bar-stack" });
      const title = svg("title", {});
      const segments = segmentsOf(hist, order, i);
      const split = segments.map((s) => `${formatCount(s.count)} ${s.name}`).join(", ");
      title.textContent = `${formatCount(count)} rows from ${formatDateTime(start, this.utc, true)}${split ? `: ${split}` : ""}`;
      bar.append(title);
      if (segments.length === 0) segments.push({ cls: "", name: "", count });
      // Each level's share of the bar's height, bottom up; the bar's total height is kept exactly.
      let y = HEIGHT;
      for (const s of segments) {
        const height = (s.count / count) * barHeight;
        const rect = svg("rect", { class: `lf-bar${s.cls ? ` lf-bar-${s.cls.slice("lf-level-".length)}` : ""}`, x: x0, y: y - height, width: x1 - x0, height });
        if (s.name) rect.dataset.level = s.name;
        bar.append(rect);
        y -= height;
      }
      this.plot.append(bar);
    });
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

  private startDrag(e: PointerEvent): void {
    const hist = this.hist;
    if (!hist || this.pending || e.button !== 0) return;
    e.preventDefault();
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
