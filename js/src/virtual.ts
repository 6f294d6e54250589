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
/** The tallest scroll area used. Browsers cap an element's height (Chromium near 33.5 million px, about
 * 1.3 million rows of 26 px); past this the scroll position maps to rows proportionally instead. */
export const MAX_SCROLL_HEIGHT = 16_000_000;

/** The scroll area's height for `rowCount` rows. */
export function scrollHeight(rowHeight: number, rowCount: number): number {
  return Math.min(rowCount * rowHeight, MAX_SCROLL_HEIGHT);
}

export function visibleWindow(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  rowCount: number,
  overscan = OVERSCAN,
): Window {
  if (rowCount <= 0 || rowHeight <= 0) return { start: 0, end: 0, offset: 0 };
  const visible = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const top = Math.max(0, scrollTop);
  const height = scrollHeight(rowHeight, rowCount);
  // Proportional when the rows do not fit the scroll area: the top of the scroll range is row 0, its
  // bottom shows the last row; the rows are drawn at the scroll position, shifted by the part row.
  const exact =
    height < rowCount * rowHeight
      ? (Math.min(top, Math.max(1, height - viewportHeight)) / Math.max(1, height - viewportHeight)) *
        Math.max(0, rowCount - viewportHeight / rowHeight)
      : top / rowHeight;
  const first = Math.floor(exact);
  const start = Math.min(Math.max(0, first - overscan), Math.max(0, rowCount - 1));
  const end = Math.min(rowCount, start + Math.min(MAX_DOM_ROWS, visible + 2 * overscan));
  return { start, end, offset: top - (exact - start) * rowHeight };
}
