/**
 * A trace's waterfall layout: one line per span, in depth-first order (children by start time), with the
 * depth that indents it, the time its bar covers, the logs drawn as ticks on it and whether it is on the
 * critical path. Pure functions over plain arrays, no DOM, so every rule is unit-tested.
 *
 * Rules for imperfect traces, as Jaeger and Grafana treat them:
 * - An orphan (its parent_span_id names a span not in the result) is a root line, flagged `orphan`.
 * - A span that ends after its parent keeps its own times (work that outlived the request is real), flagged
 *   `outlives`; the axis spans every bar, not only the root's.
 * - Clock skew: a child from another service that does not fit inside its parent, though it is shorter, was
 *   timed by another clock. It and its subtree are shifted to sit centred in the parent (`shift`, in ms, says
 *   by how much), since the parent's call certainly contained it.
 * - Logs and span events whose span is in the trace are ticks on that span's line; others get a line.
 * - A parent chain that loops (bad data) is cut where it loops; every span still gets exactly one line.
 */

export interface SpanInput {
  spanId: string;
  parentId: string | null;
  /** Epoch milliseconds. */
  start: number;
  end: number;
  /** Logfire's `kind`: span, log, span_event, ... */
  kind: string;
  service: string;
}

export interface Line {
  /** The span's position in the input (its Arrow row). */
  row: number;
  depth: number;
  /** The parent's line number, or -1 for a root. */
  parent: number;
  /** Lines below this one that belong to its subtree (they follow it directly). */
  descendants: number;
  hasChildren: boolean;
  /** The bar's interval in epoch ms, after any clock-skew shift. */
  start: number;
  end: number;
  /** Milliseconds added to this span's times to undo clock skew (0 for most). */
  shift: number;
  orphan: boolean;
  outlives: boolean;
  critical: boolean;
  /** Rows of the logs and span events drawn as ticks on this line. */
  ticks: number[];
}

export interface Layout {
  lines: Line[];
  /** The trace's own axis: the earliest start and latest end of every line and tick. */
  from: number;
  to: number;
  /** Rows of the input that became ticks. */
  tickCount: number;
}

const POINT_KINDS = new Set(["log", "span_event", "event"]);

export function isPoint(kind: string): boolean {
  return POINT_KINDS.has(kind);
}

function byStart(spans: SpanInput[]): (a: number, b: number) => number {
  return (a, b) => spans[a]!.start - spans[b]!.start || a - b;
}

export function buildLayout(spans: SpanInput[]): Layout {
  // The first row with an id is the one its children hang on (duplicates are shown, never targeted).
  const rowOf = new Map<string, number>();
  spans.forEach((s, i) => {
    if (!isPoint(s.kind) && s.spanId && !rowOf.has(s.spanId)) rowOf.set(s.spanId, i);
  });
  const children = new Map<number, number[]>();
  const tickRows = new Map<number, number[]>();
  const roots: number[] = [];
  const orphans = new Set<number>();
  const ticked = new Set<number>();
  const append = (map: Map<number, number[]>, key: number, row: number): void => {
    const list = map.get(key);
    if (list) list.push(row);
    else map.set(key, [row]);
  };
  spans.forEach((s, i) => {
    const parent = s.parentId ? rowOf.get(s.parentId) : undefined;
    const known = parent !== undefined && parent !== i;
    if (isPoint(s.kind) && known) {
      append(tickRows, parent, i);
      ticked.add(i);
      return;
    }
    if (!known) {
      roots.push(i);
      if (s.parentId && parent === undefined) orphans.add(i);
      return;
    }
    append(children, parent, i);
  });
  const order = byStart(spans);
  roots.sort(order);
  for (const list of children.values()) list.sort(order);

  const lines: Line[] = [];
  const placed = new Set<number>();
  const place = (row: number, depth: number, parentLine: number, inherited: number): void => {
    // Iterative depth-first walk: a deep chain (thousands of nested spans) must not overflow the stack.
    const stack: [number, number, number, number][] = [[row, depth, parentLine, inherited]];
    const open: number[] = [];
    while (stack.length) {
      const [r, d, p, shiftIn] = stack.pop()!;
      while (open.length && lines[open[open.length - 1]!]!.depth >= d) closeLine(open.pop()!);
      if (placed.has(r)) continue;
      placed.add(r);
      const s = spans[r]!;
      let shift = shiftIn;
      let start = s.start + shift;
      let end = Math.max(s.end, s.start) + shift;
      let outlives = false;
      if (p >= 0) {
        const parent = lines[p]!;
        const parentSpan = spans[parent.row]!;
        const fits = start >= parent.start && end <= parent.end;
        const shorter = end - start <= parent.end - parent.start;
        if (!fits && shorter && s.service !== parentSpan.service) {
          const delta = parent.start + (parent.end - parent.start - (end - start)) / 2 - start;
          shift += delta;
          start += delta;
          end += delta;
        } else if (end > parent.end) {
          outlives = true;
        }
      }
      const index = lines.length;
      lines.push({
        row: r,
        depth: d,
        parent: p,
        descendants: 0,
        hasChildren: false,
        start,
        end,
        shift,
        orphan: orphans.has(r),
        outlives,
        critical: false,
        ticks: tickRows.get(r) ?? [],
      });
      open.push(index);
      const kids = (children.get(r) ?? []).filter((k) => !placed.has(k));
      lines[index]!.hasChildren = kids.length > 0;
      for (let k = kids.length - 1; k >= 0; k--) stack.push([kids[k]!, d + 1, index, shift]);
    }
    while (open.length) closeLine(open.pop()!);
  };
  const closeLine = (index: number): void => {
    lines[index]!.descendants = lines.length - index - 1;
  };
  for (const r of roots) place(r, 0, -1, 0);
  // Spans in a parent loop were reached by no root: each loop is cut at its earliest span.
  const rest = spans.map((_, i) => i).filter((i) => !placed.has(i) && !ticked.has(i));
  rest.sort(order);
  for (const r of rest) if (!placed.has(r)) place(r, 0, -1, 0);

  let from = Infinity;
  let to = -Infinity;
  for (const line of lines) {
    from = Math.min(from, line.start);
    to = Math.max(to, line.end);
    for (const t of line.ticks) {
      const at = spans[t]!.start + line.shift;
      from = Math.min(from, at);
      to = Math.max(to, at);
    }
  }
  if (!Number.isFinite(from)) from = to = 0;
  markCriticalPath(lines);
  return { lines, from, to: Math.max(to, from), tickCount: ticked.size };
}

/**
 * The critical path: from each root's end, walk back through the child that finished last before the
 * cursor, then from that child's start through the next one, and so on down every level. The spans it
 * marks are the ones whose time the request waited for; parallel work that finished earlier is not on it.
 */
export function markCriticalPath(lines: Line[]): void {
  const childLines = new Map<number, number[]>();
  lines.forEach((line, i) => {
    if (line.parent < 0) return;
    const list = childLines.get(line.parent);
    if (list) list.push(i);
    else childLines.set(line.parent, [i]);
  });
  const stack: number[] = [];
  lines.forEach((line, i) => {
    if (line.parent < 0) stack.push(i);
  });
  // Only the longest root chain is "the" critical path of a trace with several roots (orphans).
  if (stack.length > 1) {
    let longest = stack[0]!;
    for (const i of stack) {
      const l = lines[i]!;
      const best = lines[longest]!;
      if (l.end - l.start > best.end - best.start) longest = i;
    }
    stack.length = 0;
    stack.push(longest);
  }
  while (stack.length) {
    const i = stack.pop()!;
    const line = lines[i]!;
    line.critical = true;
    const kids = [...(childLines.get(i) ?? [])].sort((a, b) => lines[b]!.end - lines[a]!.end);
    let cursor = line.end;
    for (const k of kids) {
      const kid = lines[k]!;
      if (Math.min(kid.end, line.end) <= cursor && kid.end > line.start) {
        stack.push(k);
        cursor = kid.start;
      }
    }
  }
}

/** The lines shown when the subtrees under `collapsed` (line numbers) are folded. */
export function visibleLines(layout: Layout, collapsed: ReadonlySet<number>): Int32Array {
  const out = new Int32Array(layout.lines.length);
  let n = 0;
  for (let i = 0; i < layout.lines.length; i++) {
    out[n++] = i;
    if (collapsed.has(i)) i += layout.lines[i]!.descendants;
  }
  return out.subarray(0, n);
}

/** The deepest line (the first of them, in order). */
export function deepestLine(layout: Layout): number {
  let best = -1;
  layout.lines.forEach((line, i) => {
    if (best < 0 || line.depth > layout.lines[best]!.depth) best = i;
  });
  return best;
}

export interface Placement {
  /** Fractions of the track's width; width is at least 0 and left+width at most 1 when the bar is in view. */
  left: number;
  width: number;
  /** False when the bar lies wholly outside the shown time slice. */
  visible: boolean;
}

/** Where a bar sits on a track showing [from, to]. */
export function place(start: number, end: number, from: number, to: number): Placement {
  const span = Math.max(to - from, 1e-9);
  if (end < from || start > to) return { left: 0, width: 0, visible: false };
  const left = Math.max(0, (start - from) / span);
  const right = Math.min(1, (end - from) / span);
  return { left, width: Math.max(0, right - left), visible: true };
}

/** Round offsets (ms from the trace's start) for about `count` labelled ticks over [from, to]. */
export function axisTicks(from: number, to: number, origin: number, count = 6): number[] {
  const span = Math.max(to - from, 1e-6);
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const first = Math.ceil((from - origin) / step) * step;
  const ticks: number[] = [];
  for (let t = first; origin + t <= to + step * 1e-6 && ticks.length < 50; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}
