/**
 * The footer under the table: what is shown, for which range, how long the query took, and whether the row
 * limit cut it. It reads the status of the result on screen, so it changes with every range picked (the
 * `%%logfire` magic writes no footer of its own below a widget).
 */
import { h } from "./dom";
import { formatCount } from "./format";
import { type RangeSpec, describe, formatRange } from "./range";

/** The fields of the kernel's status the footer reads (see widget.ts's Status). */
export interface FooterStatus {
  rows?: number;
  elapsed_ms?: number;
  limit?: number | null;
  limit_reached?: boolean;
  from_ms?: number;
  to_ms?: number;
  min_timestamp?: string;
  max_timestamp?: string;
}

/** "1,204 rows · 0.31 s · Last 1 day": the same words as the magic's text footer. */
export function footerText(st: FooterStatus, utc: boolean): string {
  const parts: string[] = [];
  if (st.rows !== undefined) parts.push(`${formatCount(st.rows)} row${st.rows === 1 ? "" : "s"}`);
  if (st.elapsed_ms !== undefined) parts.push(`${(st.elapsed_ms / 1000).toFixed(2)} s`);
  const range = rangeText(st, utc);
  if (range) parts.push(range);
  return parts.join(" · ");
}

/** The range of the result: its name for a relative range, else its instants as the picker shows them. */
function rangeText(st: FooterStatus, utc: boolean): string {
  const spec: RangeSpec | null =
    st.min_timestamp !== undefined ? { min: st.min_timestamp, max: st.max_timestamp ?? "" } : null;
  const name = spec ? describe(spec) : "";
  if (name) return name;
  if (st.from_ms === undefined || st.to_ms === undefined) return "";
  const untilNow = spec !== null && spec.max.trim() === "";
  return formatRange({ from: st.from_ms, to: st.to_ms }, utc, untilNow);
}

/** The limit note: "the limit of 1,000 rows was reached, more rows may exist (raise --limit or use --all)". */
export function limitText(limit: number, hint: string): string {
  const note = `the limit of ${formatCount(limit)} row${limit === 1 ? "" : "s"} was reached, more rows may exist`;
  return hint ? `${note} (${hint})` : note;
}

export class Footer {
  readonly el: HTMLElement;
  private readonly text: HTMLElement;
  private readonly limit: HTMLElement;

  constructor() {
    this.text = h("span", { class: "lf-status-text" });
    this.limit = h("span", { class: "lf-limit", hidden: "" });
    this.el = h("div", { class: "lf-footer lf-status", role: "status" }, this.text, this.limit);
  }

  show(st: FooterStatus, opts: { loading: boolean; utc: boolean; hint: string }): void {
    this.text.textContent = opts.loading ? "Loading…" : footerText(st, opts.utc);
    const reached = !opts.loading && st.limit_reached === true && typeof st.limit === "number";
    this.limit.hidden = !reached;
    this.limit.textContent = reached ? limitText(st.limit as number, opts.hint) : "";
  }
}
