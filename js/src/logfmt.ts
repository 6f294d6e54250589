/**
 * logfmt lines (`level=warn msg="slow query" took=1.2s`), as Loki's `| logfmt` reads them: keys are runs of
 * printable characters without `=` or `"`, values are bare (up to the next space) or double-quoted with Go's
 * escapes. Pure functions, no DOM. (No maintained npm package parses logfmt in the browser without Node's
 * streams, and the grammar is a dozen lines.)
 */

export type Pair = [key: string, value: string];

/** The pairs of a logfmt line, or null when the line does not read as logfmt: every word must be a key or a
 * `key=value` pair, and pairs must be at least as many as bare words ("GET /x took=5ms" is prose). */
export function parseLogfmt(line: string): Pair[] | null {
  const pairs: Pair[] = [];
  let bare = 0;
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && line.charCodeAt(i) <= 32) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && line.charCodeAt(i) > 32 && line[i] !== "=" && line[i] !== '"') i++;
    if (i === start) return null; // a word that starts with `=` or `"`
    const key = line.slice(start, i);
    if (i >= n || line.charCodeAt(i) <= 32) {
      bare++;
      continue;
    }
    if (line[i] !== "=") return null;
    i++;
    if (line[i] === '"') {
      const end = quotedEnd(line, i);
      if (end < 0) return null;
      pairs.push([key, unquote(line.slice(i, end))]);
      i = end;
      if (i < n && line.charCodeAt(i) > 32) return null; // `k="a"b`
    } else {
      const valueStart = i;
      while (i < n && line.charCodeAt(i) > 32) i++;
      pairs.push([key, line.slice(valueStart, i)]);
    }
  }
  return pairs.length > 0 && pairs.length >= bare ? pairs : null;
}

/** The index just past the closing quote of the string opening at `start`, or -1 when it does not close. */
function quotedEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return -1;
}

function unquote(quoted: string): string {
  try {
    return JSON.parse(quoted) as string; // Go's common escapes are JSON's
  } catch {
    return quoted.slice(1, -1);
  }
}

/** The pairs as an object for the detail tree (a repeated key shows its last value). */
export function pairsObject(pairs: Pair[]): Record<string, string> {
  return Object.fromEntries(pairs);
}
