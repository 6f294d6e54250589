/**
 * The rows of one result as the browser holds them: the head that came with the result, and windows asked
 * from the kernel (which keeps the whole frame and sorts it; see logfire_notebook/_widget_window.py).
 *
 * - Rows are kept in blocks of BLOCK rows; at most MAX_CACHED_ROWS of them, the least recently shown go
 *   first, so the browser's memory stays flat whatever the result's size.
 * - `show(start, end)` is called for the rows on screen. Missing rows (with MARGIN rows around them) are
 *   asked in one request; while it is in flight no second one goes out, and when it lands the rows on
 *   screen by then are asked if still missing. Until then they read as PLACEHOLDER: at most one round trip.
 * - A jump (the scroll position moved by more than a screenful since the last call, as a scrollbar drag
 *   does) waits SETTLE_MS for the scrolling to stop, so a fast drag asks only where it stops; nothing else
 *   asks while it waits (a window asked in a pause of the drag lands and redraws mid-drag).
 * - A result small enough to come whole (`whole`) never asks: the table sorts it itself.
 */
import type { Data } from "./arrow";
import type { SortState } from "./sort";

export const BLOCK = 100;
export const MARGIN = 150;
export const MAX_CACHED_ROWS = 4_000;
export const SETTLE_MS = 40;

/** A cell whose row has not arrived yet. */
export const PLACEHOLDER: unique symbol = Symbol("placeholder");
export type Cell = unknown | typeof PLACEHOLDER;

export interface WindowRequest {
  revision: number;
  offset: number;
  count: number;
  sort: SortState | null;
}

/** Asks the kernel for a window; resolves null when the kernel has a newer result (it is on its way). */
export type FetchWindow = (request: WindowRequest) => Promise<Data | null>;

interface Chunk {
  start: number;
  data: Data;
}

export interface RowRef {
  data: Data;
  index: number;
}

export class RowWindows {
  revision = 0;
  numRows = 0;
  private head: Data | null = null;
  private sort: SortState | null = null;
  private readonly blocks = new Map<number, Chunk>();
  private visible = { start: 0, end: 0 };
  private lastShown: { start: number; end: number } | null = null;
  private inflight = false;
  private again = false;
  private settle: ReturnType<typeof setTimeout> | null = null;
  /** Requests sent (the tests and the benchmark read it). */
  requests = 0;

  constructor(
    private readonly fetch: FetchWindow,
    private readonly onLoad: () => void,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  /** A new result: `head` holds its first rows (all of them when `whole`). */
  reset(revision: number, numRows: number, head: Data | null, sort: SortState | null): void {
    this.revision = revision;
    this.numRows = numRows;
    this.head = head;
    this.lastShown = null;
    this.again = false;
    this.clearSettle();
    this.setSort(sort);
  }

  /** True when every row is here: scrolling and sorting need no kernel. */
  get whole(): boolean {
    return this.head !== null && this.head.numRows >= this.numRows;
  }

  /** The schema (from the head; a result always sends one, even with no rows). */
  get schema(): Data | null {
    return this.head;
  }

  /** A new order of the rows (sorted by the kernel): what was loaded belongs to the old order. */
  setSort(sort: SortState | null): void {
    this.sort = this.whole ? null : sort;
    this.blocks.clear();
    this.lastShown = null;
    if (this.head && this.sort === null) this.add(0, this.head);
  }

  /** Where row `row` (in the current order) is, or null while it has not arrived. */
  row(row: number): RowRef | null {
    if (this.whole) return row < this.numRows ? { data: this.head!, index: row } : null;
    const chunk = this.blocks.get(Math.floor(row / BLOCK));
    if (!chunk || row - chunk.start >= chunk.data.numRows) return null;
    return { data: chunk.data, index: row - chunk.start };
  }

  cell(row: number, col: number): Cell {
    const ref = this.row(row);
    if (!ref) return PLACEHOLDER;
    return ref.data.columns[col]?.column.at(ref.index) ?? null;
  }

  /** The rows [start, end) are on screen: ask for what is missing around them. */
  show(start: number, end: number): void {
    if (this.whole) return;
    start = Math.max(0, Math.min(start, this.numRows));
    end = Math.max(start, Math.min(end, this.numRows));
    this.visible = { start, end };
    this.touch(start, end);
    const jump = this.lastShown !== null && Math.abs(start - this.lastShown.start) > Math.max(end - start, 1);
    this.lastShown = { start, end };
    if (this.missing() === null) return;
    if (jump) {
      this.clearSettle();
      this.settle = setTimeout(() => ((this.settle = null), this.request()), SETTLE_MS);
    } else if (this.settle === null) this.request();
    // Else a jump is settling (a window that landed mid-drag redraws the screen): its timer asks.
  }

  /** The block range to ask for: the missing blocks on screen and within MARGIN of it, or null. */
  private missing(): { offset: number; count: number } | null {
    const { start, end } = this.visible;
    const from = Math.floor(Math.max(0, start - MARGIN) / BLOCK);
    const to = Math.ceil(Math.min(this.numRows, end + MARGIN) / BLOCK);
    let first = -1;
    let last = -1;
    for (let b = from; b < to; b++) {
      if (this.blocks.has(b)) continue;
      if (first < 0) first = b;
      last = b;
    }
    if (first < 0) return null;
    const offset = first * BLOCK;
    return { offset, count: Math.min(this.numRows, (last + 1) * BLOCK) - offset };
  }

  private request(): void {
    if (this.inflight) {
      this.again = true;
      return;
    }
    const want = this.missing();
    if (!want) return;
    const request: WindowRequest = { revision: this.revision, sort: this.sort, ...want };
    const key = this.key();
    this.inflight = true;
    this.requests++;
    this.fetch(request)
      .then((data) => {
        if (data && key === this.key()) {
          this.add(want.offset, data);
          this.evict();
          this.onLoad();
        }
      })
      .catch((err: unknown) => {
        if (key === this.key()) this.onError((err as Error).message);
      })
      .finally(() => {
        this.inflight = false;
        // Rows the user scrolled to meanwhile (mid-jump, the settle timer asks for those instead).
        if (this.again && this.settle === null) {
          this.again = false;
          this.request();
        }
      });
  }

  private key(): string {
    return `${this.revision}|${this.sort?.column ?? ""}|${this.sort?.direction ?? ""}`;
  }

  private add(start: number, data: Data): void {
    const chunk = { start, data };
    const end = start + data.numRows;
    for (let b = Math.floor(start / BLOCK); b * BLOCK < end; b++) {
      // Only whole blocks (or the result's last, short one) count as loaded.
      if (b * BLOCK >= start && Math.min((b + 1) * BLOCK, this.numRows) <= end) this.blocks.set(b, chunk);
    }
  }

  /** Marks the blocks on screen as the most recently used (a Map keeps insertion order). */
  private touch(start: number, end: number): void {
    for (let b = Math.floor(start / BLOCK); b * BLOCK < end; b++) {
      const chunk = this.blocks.get(b);
      if (!chunk) continue;
      this.blocks.delete(b);
      this.blocks.set(b, chunk);
    }
  }

  private evict(): void {
    const keep = Math.ceil(MAX_CACHED_ROWS / BLOCK);
    for (const b of this.blocks.keys()) {
      if (this.blocks.size <= keep) break;
      this.blocks.delete(b);
    }
  }

  private clearSettle(): void {
    if (this.settle !== null) clearTimeout(this.settle);
    this.settle = null;
  }

  /** Rows held in the browser (the tests and the benchmark read it). */
  get cachedRows(): number {
    return this.whole ? this.numRows : this.blocks.size * BLOCK;
  }

  dispose(): void {
    this.clearSettle();
    this.blocks.clear();
    this.head = null;
  }
}
