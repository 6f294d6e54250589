/** Click-to-sort: a permutation of row indices, stable, nulls last in both directions. */

export type Direction = "asc" | "desc";

export interface SortState {
  column: string;
  direction: Direction;
}

/** The next state when a header is clicked: asc, then desc, then unsorted. */
export function nextSort(current: SortState | null, column: string): SortState | null {
  if (!current || current.column !== column) return { column, direction: "asc" };
  if (current.direction === "asc") return { column, direction: "desc" };
  return null;
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  const sa = typeof a === "string" ? a : JSON.stringify(a);
  const sb = typeof b === "string" ? b : JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Row order for `values` sorted by `direction`; ties keep their original order. */
export function sortIndex(values: ArrayLike<unknown>, direction: Direction): Uint32Array {
  const n = values.length;
  const order = new Uint32Array(n);
  const sign = direction === "asc" ? 1 : -1;
  let valid = 0;
  let tail = n;
  // Nulls go to the end whatever the direction, in their original order.
  const nulls: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) nulls.push(i);
    else order[valid++] = i;
  }
  for (let j = nulls.length - 1; j >= 0; j--) order[--tail] = nulls[j]!;
  const head = order.subarray(0, valid);
  if (typeof values[head[0] ?? 0] === "number") {
    // Numbers (also timestamps, levels, durations): compare a Float64Array, no boxing per comparison.
    const keys = new Float64Array(n);
    for (let i = 0; i < valid; i++) keys[head[i]!] = values[head[i]!] as number;
    head.sort((a, b) => (keys[a]! - keys[b]!) * sign || a - b);
  } else {
    head.sort((a, b) => compareValues(values[a], values[b]) * sign || a - b);
  }
  return order;
}
