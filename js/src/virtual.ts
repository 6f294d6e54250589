/** Virtual scrolling: which rows exist in the DOM for a scroll position. */

export interface Window {
  /** First row rendered (inclusive). */
  start: number;
  /** Last row rendered (exclusive). */
  end: number;
  /** Pixel offset of `start` from the top of the scroll area. */
  offset: number;
}

/** Rows rendered above and below the viewport so fast scrolling does not show blanks. */
export const OVERSCAN = 12;
/** The DOM never holds more rows than this, whatever the viewport height. */
export const MAX_DOM_ROWS = 200;

export function visibleWindow(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  rowCount: number,
  overscan = OVERSCAN,
): Window {
  if (rowCount <= 0 || rowHeight <= 0) return { start: 0, end: 0, offset: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const visible = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.min(Math.max(0, first - overscan), Math.max(0, rowCount - 1));
  const end = Math.min(rowCount, start + Math.min(MAX_DOM_ROWS, visible + 2 * overscan));
  return { start, end, offset: start * rowHeight };
}
