/**
 * The waterfall view: a time axis (drag across it to zoom into a slice, double-click or "Reset zoom" to see
 * the whole trace), one virtual-scrolled line per span with its name indented by depth and a bar on the
 * trace's own axis, logs as ticks, and a detail pane for the clicked span in the table's JSON tree.
 */
import type { Data } from "../arrow";
import { formatTimestamp, jsonTree } from "../cells";
import { h } from "../dom";
import { formatCount, formatDuration, levelOf, parseJsonText } from "../format";
import { visibleWindow } from "../virtual";
import { type Layout, axisTicks, buildLayout, place, visibleLines } from "./layout";
import { type Spans, readSpans } from "./spans";

export const LINE_HEIGHT = 24;
const AXIS_HEIGHT = 26;
const MAX_HEIGHT = 440;
const INDENT = 14;
/** Deeper lines indent no further (their depth shows as a number), so names stay in their column. */
const MAX_INDENT_DEPTH = 16;
/** A drag shorter than this (px) is a click, not a zoom. */
const MIN_DRAG = 4;

export class Waterfall {
  readonly el: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly axis: HTMLElement;
  private readonly axisTrack: HTMLElement;
  private readonly selection: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private readonly detail: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly resetZoom: HTMLButtonElement;
  private spans: Spans | null = null;
  private layout: Layout | null = null;
  private shown: Int32Array = new Int32Array(0);
  private collapsed = new Set<number>();
  private view: [number, number] = [0, 1];
  private selected = -1;
  private utc = false;
  private frame = 0;

  constructor() {
    this.summary = h("span", { class: "lf-trace-summary" });
    this.resetZoom = h("button", { class: "lf-btn lf-trace-reset", hidden: "" }, "Reset zoom");
    this.resetZoom.addEventListener("click", () => this.zoom(null));
    this.axisTrack = h("div", { class: "lf-trace-axis-track", title: "Drag to zoom into a slice" });
    this.selection = h("div", { class: "lf-trace-selection", hidden: "" });
    this.axisTrack.append(this.selection);
    this.axis = h(
      "div",
      { class: "lf-trace-axis" },
      h("div", { class: "lf-trace-name lf-trace-axis-label" }, "span"),
      this.axisTrack,
    );
    this.body = h("div", { class: "lf-trace-body" });
    this.spacer = h("div", { class: "lf-trace-spacer" }, this.body);
    this.scroller = h("div", { class: "lf-trace-scroll", tabindex: "0" }, this.axis, this.spacer);
    this.detail = h("div", { class: "lf-trace-detail", hidden: "" });
    this.el = h(
      "div",
      { class: "lf-waterfall" },
      h("div", { class: "lf-trace-bar-row" }, this.summary, h("span", { class: "lf-spacer-flex" }), this.resetZoom),
      this.scroller,
      this.detail,
    );
    this.scroller.addEventListener("scroll", () => this.schedule(), { passive: true });
    this.body.addEventListener("click", (e) => this.onClick(e));
    this.axisTrack.addEventListener("pointerdown", (e) => this.startDrag(e));
    this.axisTrack.addEventListener("dblclick", () => this.zoom(null));
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => this.schedule()).observe(this.scroller);
  }

  setData(data: Data): void {
    this.spans = readSpans(data);
    this.layout = buildLayout(this.spans.inputs);
    this.collapsed.clear();
    this.selected = -1;
    this.view = [this.layout.from, this.layout.to];
    this.resetZoom.hidden = true;
    this.closeDetail();
    this.refresh();
    const lines = this.layout.lines.length;
    this.el.dataset.lines = String(lines);
    const logs = this.layout.tickCount;
    const total = formatDuration((this.layout.to - this.layout.from) / 1000);
    this.summary.textContent =
      `${formatCount(lines)} span${lines === 1 ? "" : "s"}` +
      (logs ? ` · ${formatCount(logs)} log${logs === 1 ? "" : "s"}` : "") +
      ` · ${total}`;
  }

  setUtc(utc: boolean): void {
    this.utc = utc;
    if (this.selected >= 0) this.openDetail(this.selected);
  }

  /** Line numbers currently shown (collapsed subtrees left out); tests and the benchmark read it. */
  get shownLines(): number {
    return this.shown.length;
  }

  /** Folds or unfolds the subtree under `line`. */
  toggle(line: number): void {
    if (this.collapsed.has(line)) this.collapsed.delete(line);
    else this.collapsed.add(line);
    this.refresh();
  }

  /** Shows [from, to] (epoch ms) of the trace, or all of it for null. */
  zoom(range: [number, number] | null): void {
    if (!this.layout) return;
    this.view = range ?? [this.layout.from, this.layout.to];
    this.resetZoom.hidden = range === null;
    this.el.dataset.zoomed = range === null ? "" : "true";
    this.renderAxis();
    this.render();
  }

  private refresh(): void {
    if (!this.layout) return;
    this.shown = visibleLines(this.layout, this.collapsed);
    this.el.dataset.shown = String(this.shown.length);
    this.spacer.style.height = `${this.shown.length * LINE_HEIGHT}px`;
    this.scroller.style.height = `${Math.min(MAX_HEIGHT, AXIS_HEIGHT + Math.max(3, this.shown.length) * LINE_HEIGHT + 4)}px`;
    this.renderAxis();
    this.render();
  }

  private renderAxis(): void {
    const layout = this.layout;
    if (!layout) return;
    for (const tick of [...this.axisTrack.querySelectorAll(".lf-trace-tick-label")]) tick.remove();
    const [from, to] = this.view;
    for (const offset of axisTicks(from, to, layout.from)) {
      const at = place(layout.from + offset, layout.from + offset, from, to);
      if (!at.visible) continue;
      const label = h("span", { class: "lf-trace-tick-label" }, formatDuration(offset / 1000));
      label.style.left = `${at.left * 100}%`;
      this.axisTrack.append(label);
    }
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Draws the lines in the scroll window (the DOM holds at most MAX_DOM_ROWS of them). */
  render(): void {
    const layout = this.layout;
    const spans = this.spans;
    if (!layout || !spans) return;
    const viewport = (this.scroller.clientHeight || MAX_HEIGHT) - AXIS_HEIGHT;
    const win = visibleWindow(this.scroller.scrollTop, viewport, LINE_HEIGHT, this.shown.length);
    this.body.style.transform = `translateY(${win.offset}px)`;
    const count = win.end - win.start;
    while (this.body.children.length > count) this.body.lastElementChild!.remove();
    while (this.body.children.length < count) this.body.append(this.emptyRow());
    const [from, to] = this.view;
    for (let k = 0; k < count; k++) {
      const index = this.shown[win.start + k]!;
      this.fillRow(this.body.children[k] as HTMLElement, index, from, to);
    }
  }

  private emptyRow(): HTMLElement {
    const toggle = h("span", { class: "lf-trace-toggle" });
    const name = h("span", { class: "lf-trace-label" });
    const service = h("span", { class: "lf-trace-service" });
    const track = h("div", { class: "lf-trace-track" });
    return h(
      "div",
      { class: "lf-trace-row" },
      h("div", { class: "lf-trace-name" }, toggle, h("span", { class: "lf-trace-mark" }), name, service),
      track,
    );
  }

  private fillRow(row: HTMLElement, index: number, from: number, to: number): void {
    const spans = this.spans!;
    const line = this.layout!.lines[index]!;
    const r = line.row;
    const failed = spans.failed(r);
    row.dataset.line = String(index);
    row.dataset.depth = String(line.depth);
    row.dataset.parent = String(line.parent);
    row.className =
      `lf-trace-row${line.critical ? " lf-critical" : ""}${failed ? " lf-trace-failed" : ""}` +
      `${index === this.selected ? " lf-selected" : ""}${line.orphan ? " lf-orphan" : ""}`;
    const [nameCell, track] = row.children as unknown as [HTMLElement, HTMLElement];
    nameCell.style.paddingLeft = `${6 + Math.min(line.depth, MAX_INDENT_DEPTH) * INDENT}px`;
    type Cells = [HTMLElement, HTMLElement, HTMLElement, HTMLElement];
    const [toggle, mark, label, serviceTag] = nameCell.children as unknown as Cells;
    toggle.textContent = line.hasChildren ? (this.collapsed.has(index) ? "▸" : "▾") : "";
    toggle.title = line.hasChildren ? `${line.descendants} spans below: click to fold or unfold` : "";
    mark.textContent = `${line.depth > MAX_INDENT_DEPTH ? `${line.depth}·` : ""}${failed ? "⚠" : ""}`;
    const service = spans.text(r, "service_name");
    const name = spans.text(r, "message") || spans.text(r, "span_name") || spans.inputs[r]!.spanId;
    label.textContent = name;
    // The service shows where the trace enters it: at a root, and where a call crosses into another service.
    const parentRow = line.parent >= 0 ? this.layout!.lines[line.parent]!.row : -1;
    serviceTag.textContent = parentRow < 0 || spans.text(parentRow, "service_name") !== service ? service : "";
    label.title = `${name}${service ? ` (${service})` : ""}${line.orphan ? " — its parent span is not in this trace" : ""}`;
    track.textContent = "";
    const at = place(line.start, line.end, from, to);
    if (at.visible) {
      const level = levelOf(spans.level(r));
      const bar = h("div", { class: `lf-trace-span lf-tl-${level.name}` });
      bar.style.left = `${at.left * 100}%`;
      bar.style.width = `${at.width * 100}%`;
      const ms = line.end - line.start;
      const text = h("span", { class: "lf-trace-duration" }, formatDuration(ms / 1000));
      // Just after the bar's end; the track's right margin leaves room for it at the far right.
      text.style.left = `${(at.left + at.width) * 100}%`;
      track.append(bar, text);
    }
    for (const t of line.ticks) {
      const tickAt = spans.inputs[t]!.start + line.shift;
      const p = place(tickAt, tickAt, from, to);
      if (!p.visible) continue;
      const level = levelOf(spans.level(t));
      const tick = h("div", { class: `lf-trace-log lf-tl-${level.name}`, title: spans.text(t, "message") });
      tick.style.left = `${p.left * 100}%`;
      track.append(tick);
    }
  }

  private onClick(e: MouseEvent): void {
    const target = e.target as HTMLElement;
    const row = target.closest<HTMLElement>(".lf-trace-row");
    if (!row || row.dataset.line === undefined) return;
    const index = Number(row.dataset.line);
    if (target.closest(".lf-trace-toggle") && this.layout!.lines[index]!.hasChildren) {
      this.toggle(index);
      return;
    }
    this.selected = index;
    this.openDetail(index);
    this.render();
  }

  private startDrag(e: PointerEvent): void {
    if (!this.layout || e.button !== 0) return;
    e.preventDefault();
    const box = this.axisTrack.getBoundingClientRect();
    const x0 = e.clientX - box.left;
    const fraction = (x: number): number => Math.min(1, Math.max(0, x / Math.max(box.width, 1)));
    const move = (ev: PointerEvent): void => {
      const x1 = ev.clientX - box.left;
      const [a, b] = [Math.min(x0, x1), Math.max(x0, x1)];
      this.selection.hidden = false;
      this.selection.style.left = `${fraction(a) * 100}%`;
      this.selection.style.width = `${(fraction(b) - fraction(a)) * 100}%`;
    };
    const up = (ev: PointerEvent): void => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      this.selection.hidden = true;
      const x1 = ev.clientX - box.left;
      if (Math.abs(x1 - x0) < MIN_DRAG) return;
      const [from, to] = this.view;
      const at = (x: number): number => from + fraction(x) * (to - from);
      this.zoom([at(Math.min(x0, x1)), at(Math.max(x0, x1))]);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  private openDetail(index: number): void {
    const spans = this.spans!;
    const line = this.layout!.lines[index]!;
    const r = line.row;
    const close = h("button", { class: "lf-btn lf-close", title: "Close", "aria-label": "Close" }, "×");
    close.addEventListener("click", () => {
      this.selected = -1;
      this.closeDetail();
      this.render();
    });
    const level = levelOf(spans.level(r));
    const facts: [string, string][] = [
      ["service", spans.text(r, "service_name")],
      ["start", formatTimestamp(spans.inputs[r]!.start, this.utc)],
      ["duration", formatDuration((spans.inputs[r]!.end - spans.inputs[r]!.start) / 1000)],
      ["span_id", spans.text(r, "span_id")],
      ["parent_span_id", spans.text(r, "parent_span_id") + (line.orphan ? " (not in this trace)" : "")],
      ["status", [spans.text(r, "otel_status_code"), spans.text(r, "otel_status_message")].filter(Boolean).join(": ")],
      ["scope", spans.text(r, "otel_scope_name")],
    ];
    if (line.shift) facts.push(["clock skew", `shown shifted by ${formatDuration(line.shift / 1000)} to fit its parent`]);
    if (line.outlives) facts.push(["note", "ends after its parent span"]);
    if (line.critical) facts.push(["critical path", "yes: the trace waited for this span"]);
    const body = h("div", { class: "lf-detail-body" });
    body.append(h("div", { class: "lf-trace-message" }, spans.text(r, "message")));
    const grid = h("div", { class: "lf-trace-facts" });
    for (const [k, v] of facts) if (v) grid.append(h("span", { class: "lf-tree-key" }, k), h("span", {}, v));
    body.append(grid);
    const exceptionType = spans.text(r, "exception_type");
    if (exceptionType) {
      body.append(
        h("div", { class: "lf-trace-section lf-trace-exception" }, `${exceptionType}: ${spans.text(r, "exception_message")}`),
        h("pre", { class: "lf-pre lf-trace-stack" }, spans.text(r, "exception_stacktrace")),
      );
    }
    for (const name of ["attributes", "otel_events", "tags"]) {
      const raw = spans.value(r, name);
      const parsed = typeof raw === "string" ? parseJsonText(raw) : raw;
      if (parsed === null || parsed === undefined || (Array.isArray(parsed) && parsed.length === 0)) continue;
      body.append(h("div", { class: "lf-trace-section" }, name), jsonTree(parsed, 2));
    }
    this.detail.textContent = "";
    this.detail.append(
      h(
        "div",
        { class: "lf-detail-head" },
        h("span", { class: `lf-level ${level.cls}` }, level.name),
        h("span", { class: "lf-detail-title" }, spans.text(r, "span_name")),
        h("span", { class: "lf-spacer-flex" }),
        close,
      ),
      body,
    );
    this.detail.hidden = false;
  }

  private closeDetail(): void {
    this.detail.hidden = true;
    this.detail.textContent = "";
  }
}
