/**
 * The grid: sticky header with type badges, sort and resize; virtual rows; a detail pane for one cell.
 * Rows come from a RowWindows: a whole small result is sorted here, a large one by the kernel.
 */
import type { ColumnInfo } from "./arrow";
import { copyValue, fillCell, fullValue } from "./cells";
import { copyText, h } from "./dom";
import { type SortState, nextSort, sortIndex } from "./sort";
import { OVERSCAN, scrollHeight, visibleWindow, type Window as DrawnRows } from "./virtual";
import { PLACEHOLDER, type RowWindows } from "./window";

export const ROW_HEIGHT = 26;

/** Runs `fn` when the page is idle (at most FILL_WAIT_MS later), or in the next task where the browser
 * cannot say (jsdom, older Safari). */
const FILL_WAIT_MS = 300;
function whenIdle(fn: () => void): void {
  if (typeof requestIdleCallback === "function") requestIdleCallback(fn, { timeout: FILL_WAIT_MS });
  else setTimeout(fn, 0);
}
const HEADER_HEIGHT = 31;
/** Room for a horizontal scrollbar under the last row. */
const SCROLLBAR = 14;
/** The grid's height for large results (it scrolls inside); the user can drag the corner to change it. */
const MAX_HEIGHT = 420;
/** Even an empty result keeps room for its one-sentence message. */
const MIN_VISIBLE_ROWS = 4;
const MIN_WIDTH = 48;

/** Wide enough for the header (name + badge), and for the values' usual width. */
function initialWidth(info: ColumnInfo): number {
  const header = Math.ceil(info.name.length * 8.2 + info.badge.length * 6.6 + 48);
  return Math.min(Math.max(header, valueWidth(info)), 420);
}

function valueWidth(info: ColumnInfo): number {
  switch (info.kind) {
    case "timestamp":
      return 190;
    case "level":
      return 80;
    case "duration":
    case "number":
    case "bool":
    case "date":
      return 110;
    case "json":
      return 280;
    case "line":
      return 420;
    default:
      return ["message", "span_name", "exception_message", "log_body"].includes(info.name) ? 320 : 160;
  }
}

export class TableView {
  readonly el: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly header: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private readonly detail: HTMLElement;
  private rows: RowWindows | null = null;
  private columns: ColumnInfo[] = [];
  private order: Uint32Array | null = null;
  private sort: SortState | null = null;
  private widths: number[] = [];
  private utc = false;
  private selected: { row: number; col: number } | null = null;
  /** The value the detail pane shows, kept from when it opened: its row may since have left the browser
   * (a large result keeps only the windows near the screen) or moved (a sort). */
  private shown: { info: ColumnInfo; value: unknown } | null = null;
  private frame = 0;
  private autoHeight = "";
  private userSized = false;
  private traceColumn = "";
  private labelColumn = "";
  /** The scroller's height and scroll position as last laid out (kept from its resize and scroll events):
   * `render` runs right after DOM writes, and reading them there would force the whole page's layout, which
   * in JupyterLab costs more than drawing the rows. */
  private viewHeight: number | null = null;
  private scrollTop = 0;
  /** The rows last drawn. */
  private drawn: DrawnRows | null = null;
  /** A new result's first frame draws only the rows on screen; the rows around them (for scrolling) follow
   * after it is painted, so the first paint lays out less than half the cells. */
  private lean = false;
  private leanFrame = 0;
  /** Called with a label and its value when the user clicks a label chip (Loki: narrows the query). */
  onLabel: ((label: string, value: string) => void) | null = null;
  /** Called with a row's trace id and start time (epoch ms, or null) when the user opens its trace. */
  onOpenTrace: ((traceId: string, atMs: number | null) => void) | null = null;

  constructor() {
    this.header = h("div", { class: "lf-header", role: "row" });
    this.body = h("div", { class: "lf-body", role: "rowgroup" });
    this.spacer = h("div", { class: "lf-spacer" }, this.body);
    this.scroller = h("div", { class: "lf-scroll", role: "grid", tabindex: "0" }, this.header, this.spacer);
    this.detail = h("div", { class: "lf-detail", hidden: "" });
    this.el = h("div", { class: "lf-table" }, this.scroller, this.detail);
    this.scroller.addEventListener(
      "scroll",
      () => {
        this.scrollTop = this.scroller.scrollTop;
        this.schedule();
      },
      { passive: true },
    );
    this.body.addEventListener("click", (e) => this.onCellClick(e));
    this.scroller.addEventListener("keydown", (e) => {
      if ((e.metaKey || e.ctrlKey) && e.key === "c" && this.selected) {
        e.preventDefault();
        void this.copySelected();
      }
    });
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => {
        // A height we did not set came from the user dragging the corner: keep theirs from now on.
        const height = this.scroller.style.height;
        if (height && height !== this.autoHeight) this.userSized = true;
        this.viewHeight = this.scroller.clientHeight || null; // layout is up to date in a resize callback
        // The first callback mostly confirms the rows `setRows` drew for the height it assumed: drawing them
        // again only filled every cell anew, in the frame after the first rows were painted.
        if (!this.isDrawn(this.window())) this.schedule();
      }).observe(this.scroller);
    }
  }

  /** Shows a (new) result; keeps the sort and the column widths when its columns are the same. */
  setRows(rows: RowWindows): void {
    const columns = rows.schema?.columns ?? [];
    const sameColumns =
      this.columns.length === columns.length && this.columns.every((c, i) => c.name === columns[i]!.name);
    this.rows = rows;
    this.columns = columns;
    if (!sameColumns) {
      this.widths = columns.map(initialWidth);
      if (this.sort && !columns.some((c) => c.name === this.sort!.column)) this.sort = null;
    }
    this.applySort();
    this.closeDetail();
    // The same columns keep the same header (and sort arrow): rebuilding it would only make work for layout.
    if (!sameColumns || !this.header.firstChild) this.renderHeader();
    this.spacer.style.height = `${scrollHeight(ROW_HEIGHT, rows.numRows)}px`;
    this.lean = true;
    this.fillAfterPaint();
    if (!this.userSized) {
      // Small results get a small box; large ones scroll inside MAX_HEIGHT.
      const needed = HEADER_HEIGHT + Math.max(MIN_VISIBLE_ROWS, rows.numRows) * ROW_HEIGHT + SCROLLBAR;
      const height = Math.min(MAX_HEIGHT, needed);
      if (this.autoHeight !== `${height}px`) {
        this.autoHeight = `${height}px`;
        this.scroller.style.height = this.autoHeight;
        this.viewHeight = height - 2; // its borders; the resize callback corrects it once laid out
      }
    }
    this.render();
  }

  setUtc(utc: boolean): void {
    if (utc === this.utc) return; // a picked range sets it again: nothing to redraw
    this.utc = utc;
    this.render();
  }

  /** The column whose map values show as clickable label chips ("" for none). */
  setLabelColumn(name: string): void {
    if (name === this.labelColumn) return;
    this.labelColumn = name;
    this.render();
  }

  /** The column whose values open a trace (the source names it; "" for none). */
  setTraceColumn(name: string): void {
    if (name === this.traceColumn) return;
    this.traceColumn = name;
    this.render();
  }

  /** The trace id and start time of the row shown at display position `display`, or null without one. */
  traceOf(display: number): { traceId: string; atMs: number | null } | null {
    const rows = this.rows;
    const col = this.columns.findIndex((c) => c.name === this.traceColumn);
    if (!rows || col < 0 || display < 0 || display >= rows.numRows) return null;
    const ref = rows.row(this.rowAt(display));
    if (!ref) return null; // a row still on its way
    const cell: unknown = ref.data.columns[col]?.column.at(ref.index);
    // A Loki line keeps its trace id in a map column (structured metadata, parsed fields or labels).
    const value = this.columns[col]?.badge === "map" ? traceIdInMap(cell) : cell;
    if (value === null || value === undefined || String(value) === "") return null;
    // The row's time (a span's start, a Loki line's timestamp) centres the trace query's window.
    const start = this.columns.findIndex(
      (c) => (c.name === "start_timestamp" || c.name === "timestamp") && c.kind === "timestamp",
    );
    const at = start >= 0 ? ref.data.columns[start]?.column.at(ref.index) : undefined;
    return { traceId: String(value), atMs: typeof at === "number" ? at : null };
  }

  private openTrace(display: number): void {
    const trace = this.traceOf(display);
    if (trace && this.onOpenTrace) this.onOpenTrace(trace.traceId, trace.atMs);
  }

  /** Row shown at display position `i`, after sorting. */
  rowAt(i: number): number {
    return this.order ? this.order[i]! : i;
  }

  get sortState(): SortState | null {
    return this.sort;
  }

  private renderHeader(): void {
    this.header.textContent = "";
    const total = this.widths.reduce((a, b) => a + b, 0);
    this.header.style.width = `${total}px`;
    this.spacer.style.width = `${total}px`;
    this.columns.forEach((info, i) => {
      const arrow = this.sort?.column === info.name ? (this.sort.direction === "asc" ? "▲" : "▼") : "";
      const cell = h(
        "div",
        {
          class: `lf-th${info.numeric ? " lf-num" : ""}${arrow ? " lf-sorted" : ""}`,
          role: "columnheader",
          title: `${info.name} (${info.badge}) — click to sort`,
          "data-col": info.name,
          "aria-sort": arrow ? (arrow === "▲" ? "ascending" : "descending") : "none",
        },
        h("span", { class: "lf-th-name" }, info.name),
        h("span", { class: `lf-badge lf-badge-${info.kind}` }, info.badge),
        // Only the sorted column has an arrow: an empty one per column was a dozen elements more to style.
        ...(arrow ? [h("span", { class: "lf-sort" }, arrow)] : []),
      );
      cell.style.width = `${this.widths[i]}px`;
      const grip = h("div", { class: "lf-resize", title: "Drag to resize" });
      grip.addEventListener("pointerdown", (e) => this.startResize(e, i));
      grip.addEventListener("click", (e) => e.stopPropagation());
      cell.append(grip);
      cell.addEventListener("click", () => this.toggleSort(info.name));
      this.header.append(cell);
    });
  }

  private startResize(e: PointerEvent, col: number): void {
    e.preventDefault();
    e.stopPropagation();
    const startX = e.clientX;
    const startWidth = this.widths[col]!;
    const target = e.target as HTMLElement;
    target.setPointerCapture?.(e.pointerId);
    const move = (ev: PointerEvent): void => {
      this.widths[col] = Math.max(MIN_WIDTH, startWidth + ev.clientX - startX);
      this.applyWidths();
    };
    const up = (): void => {
      target.removeEventListener("pointermove", move);
      target.removeEventListener("pointerup", up);
    };
    target.addEventListener("pointermove", move);
    target.addEventListener("pointerup", up);
  }

  private applyWidths(): void {
    const total = this.widths.reduce((a, b) => a + b, 0);
    this.header.style.width = `${total}px`;
    this.spacer.style.width = `${total}px`;
    this.header.querySelectorAll<HTMLElement>(".lf-th").forEach((th, i) => {
      th.style.width = `${this.widths[i]}px`;
    });
    this.body.textContent = "";
    this.render();
  }

  private toggleSort(column: string): void {
    this.sort = nextSort(this.sort, column);
    this.applySort();
    this.renderHeader();
    this.scroller.scrollTop = 0;
    this.scrollTop = 0;
    // Like a new result: the rows on screen first, the overscan once they have arrived and been painted.
    this.lean = true;
    this.render();
  }

  private applySort(): void {
    const rows = this.rows;
    this.order = null;
    if (!rows) return;
    if (!rows.whole) {
      rows.setSort(this.sort); // the kernel sorts the whole frame; windows of the new order follow
      return;
    }
    const index = this.sort ? this.columns.findIndex((c) => c.name === this.sort!.column) : -1;
    const column = index >= 0 ? rows.schema?.columns[index]?.column : undefined;
    if (this.sort && column) this.order = sortIndex(column.toArray() as ArrayLike<unknown>, this.sort.direction);
  }

  /** Draws the overscan rows once the frame showing the new result has been painted (a task queued from
   * its animation frame runs after that frame), when the page is idle: drawn at once, they held up the next
   * frame by their script, ~20 ms at 100,000 rows. A scroll before then draws what it shows anyway. */
  private fillAfterPaint(): void {
    if (this.leanFrame) return;
    this.leanFrame = requestAnimationFrame(() =>
      whenIdle(() => {
        this.leanFrame = 0;
        this.lean = false;
        // A result that fits on screen has no rows around it to add: drawing it again only filled every
        // cell anew, right after its first paint (before the next frame, on a busy machine).
        if (!this.isDrawn(this.window())) this.render();
      }),
    );
  }

  /** Whether `win` is the window drawn last (nothing to draw again). */
  private isDrawn(win: DrawnRows | null): boolean {
    const drawn = this.drawn;
    return drawn !== null && win !== null && win.start === drawn.start && win.end === drawn.end && win.offset === drawn.offset;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** The rows to draw for the scroll position and height as last known. */
  private window(): DrawnRows | null {
    if (!this.rows) return null;
    const height = this.viewHeight ?? (this.scroller.clientHeight || 400);
    const overscan = this.lean ? 0 : OVERSCAN;
    return visibleWindow(this.scrollTop, height - HEADER_HEIGHT, ROW_HEIGHT, this.rows.numRows, overscan);
  }

  /** Draws the rows in the window; the DOM holds only these (bounded by MAX_DOM_ROWS). Rows not yet here
   * from the kernel show as placeholders, and are asked for. */
  render(): void {
    const rows = this.rows;
    if (!rows) return;
    const columns = this.columns;
    const win = this.window()!;
    this.drawn = win;
    rows.show(win.start, win.end);
    this.body.style.transform = `translateY(${win.offset}px)`;
    const trs = this.body.children;
    const count = win.end - win.start;
    while (trs.length > count) this.body.lastElementChild!.remove();
    while (trs.length < count) {
      const tr = h("div", { class: "lf-tr", role: "row" });
      columns.forEach((_, i) => {
        const td = h("div", { class: "lf-cell", role: "gridcell" });
        td.style.width = `${this.widths[i]}px`;
        tr.append(td);
      });
      this.body.append(tr);
    }
    let pending = false;
    for (let k = 0; k < count; k++) {
      const display = win.start + k;
      const ref = rows.row(this.rowAt(display));
      const tr = trs[k] as HTMLElement;
      tr.dataset.row = String(display);
      tr.classList.toggle("lf-odd", display % 2 === 1);
      tr.classList.toggle("lf-pending", ref === null);
      pending ||= ref === null;
      const cells = tr.children;
      columns.forEach((info, c) => {
        const td = cells[c] as HTMLElement;
        if (ref === null) {
          td.className = "lf-cell lf-placeholder";
          td.textContent = "";
          return;
        }
        const value = ref.data.columns[c]?.column.at(ref.index) ?? null;
        fillCell(td, info, value, this.utc);
        if (info.name === this.labelColumn && this.onLabel && value !== null) fillChips(td, value);
        // A map column's cell stays a cell (its detail shows the map, with "Open trace" beside it).
        if (info.name === this.traceColumn && info.badge !== "map" && this.onOpenTrace && td.textContent !== "null") {
          td.classList.add("lf-trace-link");
          td.title = "Open this trace";
        }
        if (this.selected?.row === display && this.selected.col === c) td.classList.add("lf-selected");
      });
    }
    if (this.lean && !pending) this.fillAfterPaint();
  }

  private onCellClick(e: MouseEvent): void {
    const chip = (e.target as HTMLElement).closest<HTMLElement>(".lf-chip");
    if (chip && this.onLabel) {
      this.onLabel(chip.dataset.label ?? "", chip.dataset.value ?? "");
      return;
    }
    const td = (e.target as HTMLElement).closest<HTMLElement>(".lf-cell");
    const tr = td?.parentElement;
    if (!td || !tr || tr.dataset.row === undefined) return;
    const col = Array.prototype.indexOf.call(tr.children, td) as number;
    if (td.classList.contains("lf-trace-link")) {
      this.openTrace(Number(tr.dataset.row));
      return;
    }
    this.selected = { row: Number(tr.dataset.row), col };
    this.scroller.focus({ preventScroll: true });
    this.openDetail();
    this.render();
  }

  private selectedValue(): { info: ColumnInfo; value: unknown } | null {
    if (this.shown) return this.shown;
    if (!this.rows || !this.selected) return null;
    const info = this.columns[this.selected.col];
    const value = this.rows.cell(this.rowAt(this.selected.row), this.selected.col);
    if (!info || value === PLACEHOLDER) return null;
    return { info, value };
  }

  private async copySelected(): Promise<void> {
    const sel = this.selectedValue();
    if (!sel) return;
    await copyText(copyValue(sel.info, sel.value, this.utc));
    const button = this.detail.querySelector<HTMLElement>(".lf-copy");
    if (button) {
      button.textContent = "Copied";
      setTimeout(() => {
        button.textContent = "Copy";
      }, 1200);
    }
  }

  private openDetail(): void {
    this.shown = null;
    const sel = this.selectedValue();
    if (!sel || !this.selected) return;
    this.shown = sel;
    const copy = h("button", { class: "lf-btn lf-copy", title: "Copy this value (Ctrl+C)" }, "Copy");
    copy.addEventListener("click", () => void this.copySelected());
    const close = h("button", { class: "lf-btn lf-close", title: "Close", "aria-label": "Close" }, "×");
    close.addEventListener("click", () => {
      this.selected = null;
      this.closeDetail();
      this.render();
    });
    this.detail.textContent = "";
    this.detail.append(
      h(
        "div",
        { class: "lf-detail-head" },
        h("span", { class: "lf-detail-title" }, `${sel.info.name}`),
        h("span", { class: `lf-badge lf-badge-${sel.info.kind}` }, sel.info.badge),
        h("span", { class: "lf-detail-row" }, `row ${this.selected.row + 1}`),
        h("span", { class: "lf-spacer-flex" }),
        ...this.traceButton(this.selected.row),
        copy,
        close,
      ),
      h("div", { class: "lf-detail-body" }, fullValue(sel.info, sel.value, this.utc)),
    );
    this.detail.hidden = false;
  }

  /** "Open trace" in the detail pane of a row that has a trace id. */
  private traceButton(display: number): HTMLElement[] {
    const trace = this.traceOf(display); // read now: the row may leave the browser before the click
    if (!this.onOpenTrace || !trace) return [];
    const button = h("button", { class: "lf-btn lf-open-trace", title: "Show this row's trace as a waterfall" }, "Open trace");
    button.addEventListener("click", () => this.onOpenTrace?.(trace.traceId, trace.atMs));
    return [button];
  }

  private closeDetail(): void {
    this.shown = null;
    this.detail.hidden = true;
    this.detail.textContent = "";
  }

  /** Number of row elements in the DOM (the benchmark reads it). */
  get domRowCount(): number {
    return this.body.children.length;
  }
}

/** Keys that hold a trace id in a Loki line's maps, in the order they are looked up. */
const TRACE_ID_KEYS = ["trace_id", "traceID", "traceId"];

/** A map cell's entries: Arrow maps arrive as [key, value] pairs, a Map, or a plain object. */
function mapEntries(value: unknown): [unknown, unknown][] {
  if (value instanceof Map) return [...value.entries()];
  if (Array.isArray(value)) return value as [unknown, unknown][];
  return value !== null && typeof value === "object" ? Object.entries(value) : [];
}

/** The trace id in a map cell, or null without one. */
export function traceIdInMap(value: unknown): string | null {
  const entries = new Map(mapEntries(value).map(([k, v]) => [String(k), v]));
  for (const key of TRACE_ID_KEYS) {
    const id = entries.get(key);
    if (id !== null && id !== undefined && String(id) !== "") return String(id);
  }
  return null;
}

/** A map cell's entries as chips, `label=value`. */
function fillChips(td: HTMLElement, value: unknown): void {
  const pairs = mapEntries(value);
  td.textContent = "";
  for (const [label, text] of pairs) {
    const chip = h("span", { class: "lf-chip", title: `Only rows with ${String(label)}="${String(text)}"` });
    chip.dataset.label = String(label);
    chip.dataset.value = String(text);
    chip.textContent = `${String(label)}=${String(text)}`;
    td.append(chip);
  }
}
