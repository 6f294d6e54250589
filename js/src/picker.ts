/** The time-range picker: quick ranges, relative or absolute from/to, zoom out, shift, UTC toggle. */
import { h } from "./dom";
import {
  QUICK_RANGES,
  type RangeSpec,
  describe,
  fieldText,
  formatAmount,
  formatRange,
  parseTime,
  relativeOffset,
  resolveRange,
  shift,
  toLocalInput,
  zoomOut,
} from "./range";

export interface PickerEvents {
  onRange: (spec: RangeSpec) => void;
  onUtc: (utc: boolean) => void;
}

/** The range button's clock, made with DOM calls: setting innerHTML ran the HTML parser on every widget's
 * first render (up to 6 ms on a busy machine, by CPU profile). */
function clockIcon(): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const el = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  };
  const line = { fill: "none", stroke: "currentColor", "stroke-width": "1.5" };
  const icon = el("svg", { viewBox: "0 0 16 16", class: "lf-icon" });
  icon.append(el("circle", { cx: "8", cy: "8", r: "6.25", ...line }), el("path", { d: "M8 4.5V8l2.5 1.5", "stroke-linecap": "round", ...line }));
  return icon;
}

/** What the kernel is sent: "now-6h" for relative text (also "6h"), an ISO instant for anything else. */
function canonical(text: string, now: number, utc: boolean): string {
  if (text === "" || text.toLowerCase() === "now") return "";
  const offset = relativeOffset(text);
  if (offset !== null) return offset === 0 ? "" : `now-${formatAmount(offset)}`;
  return new Date(parseTime(text, now, utc)).toISOString();
}

/** The picker's popover: quick ranges, and From / To fields with calendars. */
interface Popover {
  el: HTMLElement;
  fromInput: HTMLInputElement;
  toInput: HTMLInputElement;
  fromLocal: HTMLInputElement;
  toLocal: HTMLInputElement;
  error: HTMLElement;
}

export class Picker {
  readonly el: HTMLElement;
  private readonly button: HTMLButtonElement;
  private readonly label: HTMLElement;
  private readonly times: HTMLElement;
  /** Built when the picker first opens: every table has a picker, few are opened, and building its ~40
   * elements (quick ranges, fields, calendars) at once took most of the picker's sixth of a widget's first
   * render (CPU profile), before its first rows could paint. */
  private popover: Popover | null = null;
  private readonly utcBox: HTMLInputElement;
  private spec: RangeSpec = { min: "now-1h", max: "" };
  /** What the From / To fields showed when the popover opened: left as it was, a field keeps the exact
   * instant behind it (a timeline drag's milliseconds), not the shorter text the field shows. */
  private shown: RangeSpec = { min: "", max: "" };
  private utc = false;
  private readonly events: PickerEvents;
  private readonly now: () => number;

  constructor(events: PickerEvents, now: () => number = Date.now) {
    this.events = events;
    this.now = now;
    this.label = h("span", { class: "lf-range-label" });
    this.times = h("span", { class: "lf-range-times" });
    this.button = h(
      "button",
      { class: "lf-btn lf-range", title: "Choose the time range", "aria-haspopup": "dialog" },
      clockIcon(),
      this.label,
      this.times,
      h("span", { class: "lf-caret" }, "▾"),
    );
    this.button.addEventListener("click", () => this.toggle());

    const back = this.iconButton("◀", "Shift back by half the range", "lf-shift-back", () => this.shiftBy(-1));
    const fwd = this.iconButton("▶", "Shift forward by half the range", "lf-shift-fwd", () => this.shiftBy(1));
    const zoom = this.iconButton("⊖", "Zoom out: twice as wide", "lf-zoom-out", () => this.zoom());

    this.utcBox = h("input", { type: "checkbox", class: "lf-utc-box" });
    this.utcBox.addEventListener("change", () => this.events.onUtc(this.utcBox.checked));
    const utcLabel = h("label", { class: "lf-utc", title: "Show times in UTC instead of local time" }, this.utcBox, "UTC");

    this.el = h("div", { class: "lf-picker" }, back, this.button, fwd, zoom, utcLabel);
  }

  private buildPopover(): Popover {
    const quick = h("div", { class: "lf-quick" });
    for (const q of QUICK_RANGES) {
      const b = h("button", { class: "lf-quick-item", "data-min": q.min }, q.label);
      b.addEventListener("click", () => this.choose({ min: q.min, max: "" }));
      quick.append(b);
    }
    const fromInput = h("input", { class: "lf-input lf-from", placeholder: "now-6h or 2024-05-01 12:00", spellcheck: "false" });
    const toInput = h("input", { class: "lf-input lf-to", placeholder: "now (empty) or now-1d", spellcheck: "false" });
    const fromLocal = h("input", { class: "lf-input lf-local", type: "datetime-local", title: "Absolute start, local time" });
    const toLocal = h("input", { class: "lf-input lf-local", type: "datetime-local", title: "Absolute end, local time" });
    const fromCalendar = (calendar: HTMLInputElement, field: HTMLInputElement): void => {
      if (!calendar.value) return;
      field.value = fieldText(new Date(calendar.value).toISOString(), this.utc);
    };
    fromLocal.addEventListener("change", () => fromCalendar(fromLocal, fromInput));
    toLocal.addEventListener("change", () => fromCalendar(toLocal, toInput));
    const error = h("div", { class: "lf-picker-error", role: "alert" });
    const apply = h("button", { class: "lf-btn lf-primary lf-apply" }, "Apply");
    apply.addEventListener("click", () => this.applyInputs());
    for (const input of [fromInput, toInput]) {
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") this.applyInputs();
      });
    }
    const custom = h(
      "div",
      { class: "lf-custom" },
      h("div", { class: "lf-custom-title" }, "From / to"),
      h("label", { class: "lf-field" }, h("span", {}, "From"), fromInput, fromLocal),
      h("label", { class: "lf-field" }, h("span", {}, "To"), toInput, toLocal),
      h("div", { class: "lf-hint" }, "Relative: now-6h, 15m, now-2d to now-1d. Absolute: ISO time or the calendar."),
      error,
      apply,
    );
    const el = h("div", { class: "lf-popover", role: "dialog", hidden: "" }, h("div", { class: "lf-quick-wrap" }, h("div", { class: "lf-custom-title" }, "Quick ranges"), quick), custom);
    // composedPath, not target: inside marimo's shadow DOM the document sees the shadow host as the target.
    document.addEventListener("pointerdown", (e) => {
      if (!el.hidden && !e.composedPath().includes(this.el)) el.hidden = true;
    });
    this.el.append(el);
    return { el, fromInput, toInput, fromLocal, toLocal, error };
  }

  private iconButton(text: string, title: string, cls: string, click: () => void): HTMLButtonElement {
    const b = h("button", { class: `lf-btn lf-icon-btn ${cls}`, title, "aria-label": title }, text);
    b.addEventListener("click", click);
    return b;
  }

  set(spec: RangeSpec, utc: boolean): void {
    this.spec = spec;
    this.utc = utc;
    this.utcBox.checked = utc;
    this.refresh();
  }

  /** Re-renders the shown local times (relative ranges move with the clock). */
  refresh(): void {
    const name = describe(this.spec);
    try {
      const range = resolveRange(this.spec, this.now());
      this.label.textContent = name || "Custom range";
      const untilNow = this.spec.max.trim() === "" && relativeOffset(this.spec.min) === null;
      this.times.textContent = formatRange(range, this.utc, untilNow);
      this.button.title = `${this.spec.min || "?"} → ${this.spec.max || "now"}`;
    } catch (err) {
      this.label.textContent = name || `${this.spec.min} → ${this.spec.max || "now"}`;
      this.times.textContent = (err as Error).message;
    }
  }

  private toggle(): void {
    const popover = (this.popover ??= this.buildPopover());
    popover.el.hidden = !popover.el.hidden;
    if (!popover.el.hidden) {
      this.shown = { min: fieldText(this.spec.min, this.utc), max: fieldText(this.spec.max, this.utc) };
      popover.fromInput.value = this.shown.min;
      popover.toInput.value = this.shown.max;
      popover.error.textContent = "";
      try {
        const range = resolveRange(this.spec, this.now());
        popover.fromLocal.value = toLocalInput(range.from);
        popover.toLocal.value = toLocalInput(range.to);
      } catch {
        // Leave the calendar inputs empty for a range that does not resolve.
      }
    }
  }

  private applyInputs(): void {
    const popover = this.popover;
    if (!popover) return; // (its fields are the popover's)
    const typed = { min: popover.fromInput.value.trim(), max: popover.toInput.value.trim() };
    const now = this.now();
    try {
      if (typed.min === "") throw new Error("Give a start, e.g. now-6h.");
      parseTime(typed.min, now, this.utc);
      resolveRange(typed, now, this.utc);
    } catch (err) {
      popover.error.textContent = (err as Error).message;
      return;
    }
    const end = (key: "min" | "max"): string =>
      typed[key] === this.shown[key].trim() ? this.spec[key] : canonical(typed[key], now, this.utc);
    this.choose({ min: end("min"), max: end("max") });
  }

  private choose(spec: RangeSpec): void {
    if (this.popover) this.popover.el.hidden = true;
    this.spec = spec;
    this.refresh();
    this.events.onRange(spec);
  }

  private shiftBy(direction: -1 | 1): void {
    try {
      this.choose(shift(this.spec, direction, this.now()));
    } catch {
      // An unreadable range cannot be shifted; the label already says why.
    }
  }

  private zoom(): void {
    try {
      this.choose(zoomOut(this.spec, this.now()));
    } catch {
      // As above.
    }
  }
}
