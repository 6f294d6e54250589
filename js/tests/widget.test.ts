import { beforeEach, describe, expect, it, vi } from "vitest";
import { LOADING_DELAY_MS, render } from "../src/widget";
import { FakeModel, RESULT_STATE, flush, recordsIPC } from "./helpers";

const STATUS = { state: "ready", rows: 5000, elapsed_ms: 42, limit: 5000, limit_reached: true, min_timestamp: "now-7d", max_timestamp: "" };
const STATE = {
  ...RESULT_STATE,
  limit_hint: "raise --limit or use --all",
  status: STATUS,
  timeline: { histogram: null, note: "" },
};

/** A widget whose result has `rows` rows, of which the first `headRows` came with it (as the kernel sends). */
function setup(rows = 5000, headRows = rows): { model: FakeModel; el: HTMLElement } {
  const model = new FakeModel({ ...STATE, status: { ...STATUS, rows, limit: rows }, head: view(recordsIPC(headRows)) });
  const el = document.createElement("div");
  document.body.append(el);
  render({ model: model as never, el });
  // happy-dom has no layout: give the scroller a height so the virtual window has rows to fill.
  const scroller = el.querySelector<HTMLElement>(".lf-scroll")!;
  Object.defineProperty(scroller, "clientHeight", { value: 400, configurable: true });
  scroller.dispatchEvent(new Event("scroll"));
  return { model, el };
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Records each read of a layout property under `root` until the returned function is called. */
function countLayoutReads(root: HTMLElement, reads: string[]): () => void {
  const names = ["offsetHeight", "offsetWidth", "clientHeight", "clientWidth", "scrollTop"] as const;
  const undo: (() => void)[] = [];
  for (const element of [root, ...root.querySelectorAll<HTMLElement>("*")]) {
    for (const name of names) {
      const own = Object.getOwnPropertyDescriptor(element, name);
      let proto: object | null = element;
      let found: PropertyDescriptor | undefined;
      while (!found && (proto = Object.getPrototypeOf(proto))) found = Object.getOwnPropertyDescriptor(proto, name);
      const original = own ?? found;
      if (!original) continue;
      Object.defineProperty(element, name, {
        configurable: true,
        get() {
          reads.push(`${element.className}.${name}`);
          return original.get ? original.get.call(element) : original.value;
        },
        set(value: unknown) {
          if (original.set) original.set.call(element, value);
        },
      });
      undo.push(() => (own ? Object.defineProperty(element, name, own) : delete (element as never)[name]));
    }
  }
  return () => undo.forEach((f) => f());
}

function frame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}

/** The kernel's answer to the last window request: the rows it asks for (the message column says which). */
async function answerWindow(model: FakeModel, first = -1): Promise<void> {
  const request = model.lastRequest();
  const offset = request.offset as number;
  const count = request.count as number;
  model.reply({ type: "reply", id: request.id, ok: true, revision: request.revision, offset, count, rows: 100_000 }, [
    recordsIPC(count, first >= 0 ? first : offset),
  ]);
  await flush();
}

function messages(el: HTMLElement): string[] {
  return [...el.querySelectorAll(".lf-tr")].map((tr) => tr.children[5]!.textContent!);
}

beforeEach(() => {
  document.body.textContent = "";
});

describe("the widget against a fake model", () => {
  it("shows the rows that came with the result without asking the kernel", () => {
    const { model, el } = setup(5000);
    expect(model.sent).toHaveLength(0);
    const rows = el.querySelectorAll(".lf-tr");
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThanOrEqual(200);
    expect(rows[0]!.children[1]!.textContent).toBe("info");
    expect(rows[0]!.children[0]!.textContent).toBe("2024-05-01 12:00:00.000");
    // The footer, under the table, says what the magic's text footer says.
    expect(el.querySelector(".lf-main + .lf-footer .lf-status-text")!.textContent).toBe(
      "5,000 rows · 0.04 s · Last 7 days",
    );
    expect(el.querySelector(".lf-limit")!.textContent).toBe(
      "the limit of 5,000 rows was reached, more rows may exist (raise --limit or use --all)",
    );
    // A SQL widget's query is its cell's, never changed in the widget: no query line.
    expect(el.querySelector<HTMLElement>(".lf-query")!.hidden).toBe(true);
  });

  it("keeps the DOM bounded at 100,000 rows and asks for the middle by window", async () => {
    const { model, el } = setup(100_000, 200);
    expect(el.querySelector<HTMLElement>(".lf-spacer")!.style.height).toBe(`${100_000 * 26}px`);
    expect(el.querySelectorAll(".lf-tr").length).toBeLessThanOrEqual(200);
    expect(model.sent).toHaveLength(0);
    const scroller = el.querySelector<HTMLElement>(".lf-scroll")!;
    scroller.scrollTop = 50_000 * 26;
    scroller.dispatchEvent(new Event("scroll"));
    await frame();
    // Until the window arrives the rows are placeholders, never blank or other rows.
    expect(el.querySelectorAll(".lf-tr.lf-pending").length).toBe(el.querySelectorAll(".lf-tr").length);
    await new Promise((resolve) => setTimeout(resolve, 60)); // the jump settles
    expect(model.lastRequest()).toMatchObject({ type: "request", kind: "window", revision: 1, sort: null });
    await answerWindow(model);
    expect(el.querySelectorAll(".lf-tr.lf-pending").length).toBe(0);
    const first = Number((el.querySelector(".lf-tr") as HTMLElement).dataset.row);
    expect(first).toBeGreaterThan(49_900);
    expect(messages(el)[0]).toBe(`row ${first}`);
    expect(el.querySelectorAll(".lf-tr").length).toBeLessThanOrEqual(200);
  });

  it("draws a result that fits on screen once, and adds the rows around a larger one after its first paint", async () => {
    const show = (rows: number): HTMLElement => {
      const model = new FakeModel({ ...STATE, status: { ...STATUS, rows, limit: rows }, head: view(recordsIPC(rows)) });
      const el = document.createElement("div");
      document.body.append(el);
      render({ model: model as never, el });
      return el;
    };
    const small = show(10);
    const large = show(1000);
    const text = small.querySelector(".lf-tr .lf-cell")!.firstChild;
    const onScreen = large.querySelectorAll(".lf-tr").length;
    await frame();
    await new Promise((resolve) => setTimeout(resolve, 400)); // the page's idle time after that frame
    // Its cells were not filled anew (each fill makes new text): nothing was drawn twice.
    expect(small.querySelectorAll(".lf-tr")).toHaveLength(10);
    expect(small.querySelector(".lf-tr .lf-cell")!.firstChild).toBe(text);
    expect(large.querySelectorAll(".lf-tr").length).toBeGreaterThan(onScreen);
  });

  it("sorts a result that came whole in the browser", () => {
    const { model, el } = setup(300);
    el.querySelector<HTMLElement>('.lf-th[data-col="span_name"]')!.click();
    const names = [...el.querySelectorAll(".lf-tr")].map((tr) => tr.children[2]!.textContent!);
    expect(names).toEqual([...names].sort());
    expect(names[0]).toBe("span a");
    expect(model.sent).toHaveLength(0);
  });

  it("has the kernel sort a large result, and shows its first sorted rows", async () => {
    const { model, el } = setup(100_000, 200);
    el.querySelector<HTMLElement>('.lf-th[data-col="span_name"]')!.click();
    expect(model.lastRequest()).toMatchObject({ kind: "window", offset: 0, sort: { column: "span_name", direction: "asc" } });
    expect(el.querySelectorAll(".lf-tr.lf-pending").length).toBeGreaterThan(10);
    await answerWindow(model, 7_000);
    expect(messages(el).slice(0, 3)).toEqual(["row 7000", "row 7001", "row 7002"]);
    expect(el.querySelector('.lf-th[data-col="span_name"]')!.getAttribute("aria-sort")).toBe("ascending");
  });

  it("sends a picked range to the kernel and shows loading until its result", async () => {
    const { model, el } = setup(50);
    el.querySelector<HTMLElement>(".lf-range")!.click();
    el.querySelector<HTMLElement>('.lf-quick-item[data-min="now-1h"]')!.click();
    expect(model.state.min_timestamp).toBe("now-1h");
    expect(model.state.max_timestamp).toBe("");
    expect(model.saves).toBe(1);
    expect(el.querySelector(".lf-root")!.classList.contains("lf-loading")).toBe(true);
    expect(el.querySelector(".lf-range-label")!.textContent).toBe("Last 1 hour");
  });

  it("ignores a result for a range the user has since replaced", async () => {
    const { model, el } = setup(50);
    el.querySelector<HTMLElement>(".lf-range")!.click();
    el.querySelector<HTMLElement>('.lf-quick-item[data-min="now-1h"]')!.click();
    // The kernel finishes the older 7-day query first: its rows are not shown.
    model.state.head = view(recordsIPC(60));
    model.change("status", { ...STATUS, rows: 60, min_timestamp: "now-7d" });
    model.change("revision", 2);
    expect(el.querySelector<HTMLElement>(".lf-root")!.dataset.rows).toBe("50");
    expect(el.querySelector(".lf-root")!.classList.contains("lf-loading")).toBe(true);
    model.state.head = view(recordsIPC(7));
    model.change("status", { state: "ready", rows: 7, min_timestamp: "now-1h", max_timestamp: "" });
    model.change("revision", 3);
    expect(el.querySelector<HTMLElement>(".lf-root")!.dataset.rows).toBe("7");
    expect(el.querySelector(".lf-root")!.classList.contains("lf-loading")).toBe(false);
    // The footer is about the rows on screen: the new range's count, name and no stale limit note.
    expect(el.querySelector(".lf-status-text")!.textContent).toBe("7 rows · Last 1 hour");
    expect(el.querySelector<HTMLElement>(".lf-limit")!.hidden).toBe(true);
    expect(el.querySelectorAll(".lf-tr").length).toBe(7);
    expect(model.sent.filter((m) => m.type === "request")).toHaveLength(0);
  });

  it("picks a range and shows its rows without reading layout (which forces the whole page's layout)", () => {
    const { model, el } = setup(50);
    const reads: string[] = [];
    const restore = countLayoutReads(el, reads);
    try {
      el.querySelector<HTMLElement>(".lf-range")!.click();
      el.querySelector<HTMLElement>('.lf-quick-item[data-min="now-1h"]')!.click();
      model.change("min_timestamp", "now-1h"); // the trait's change event, as anywidget fires it
      model.state.head = view(recordsIPC(40));
      model.change("status", { state: "ready", rows: 40, min_timestamp: "now-1h", max_timestamp: "" });
      model.change("revision", 2);
    } finally {
      restore();
    }
    expect(el.querySelector<HTMLElement>(".lf-root")!.dataset.rows).toBe("40");
    expect(el.querySelector(".lf-status-text")!.textContent).toBe("40 rows · Last 1 hour");
    expect(reads).toEqual([]);
  });

  it("shows the loading bar and dims the rows only once a query has taken 0.2 s", () => {
    const { model, el } = setup(50);
    const root = el.querySelector<HTMLElement>(".lf-root")!;
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const pick = (min: string, rows: number, revision: number, waitMs: number): void => {
        el.querySelector<HTMLElement>(".lf-range")!.click();
        el.querySelector<HTMLElement>(`.lf-quick-item[data-min="${min}"]`)!.click();
        expect(root.classList.contains("lf-loading")).toBe(true);
        vi.advanceTimersByTime(waitMs);
        expect(root.classList.contains("lf-slow")).toBe(waitMs >= LOADING_DELAY_MS);
        model.state.head = view(recordsIPC(rows));
        model.change("status", { state: "ready", rows, min_timestamp: min, max_timestamp: "" });
        model.change("revision", revision);
        expect(root.classList.contains("lf-loading") || root.classList.contains("lf-slow")).toBe(false);
      };
      pick("now-1h", 40, 2, LOADING_DELAY_MS - 50); // a quick answer: no flash of a loading state
      vi.advanceTimersByTime(1000);
      expect(root.classList.contains("lf-slow")).toBe(false);
      pick("now-6h", 30, 3, LOADING_DELAY_MS + 50); // a slow one: the bar and the dimmed rows
    } finally {
      vi.useRealTimers();
    }
  });

  it("shows a result whose rows come after its revision (marimo sends traits one by one)", () => {
    const { model, el } = setup(50);
    model.change("status", { ...STATUS, rows: 7, limit: 5000, limit_reached: false });
    model.change("revision", 2);
    model.change("head", view(recordsIPC(7, 100)));
    expect(el.querySelector<HTMLElement>(".lf-root")!.dataset.rows).toBe("7");
    expect(messages(el)).toEqual(["row 100", "row 101", "row 102", "row 103", "row 104", "row 105", "row 106"]);
  });

  it("does not claim a limit for a result fetched in pages (--all)", () => {
    const { model, el } = setup(20);
    model.state.head = view(recordsIPC(200));
    model.change("status", { state: "ready", rows: 102_987, elapsed_ms: 3210, limit: null, limit_reached: false, min_timestamp: "now-8d", max_timestamp: "" });
    model.change("revision", 2);
    expect(el.querySelector(".lf-status-text")!.textContent).toBe("102,987 rows · 3.21 s · Last 8 days");
    expect(el.querySelector<HTMLElement>(".lf-limit")!.hidden).toBe(true);
  });

  it("opens a JSON cell as a tree and shows the whole of a long text", () => {
    const { el } = setup(20);
    const first = el.querySelector(".lf-tr")!;
    (first.children[4] as HTMLElement).click();
    const detail = el.querySelector<HTMLElement>(".lf-detail")!;
    expect(detail.hidden).toBe(false);
    expect([...detail.querySelectorAll(".lf-tree-key")].map((k) => k.textContent)).toContain("user: ");
    const message = el.querySelector(".lf-tr")!.children[5] as HTMLElement;
    expect(message.textContent!.length).toBeLessThan(210);
    message.click();
    expect(detail.querySelector(".lf-pre")!.textContent).toHaveLength(405);
  });

  it("opens, copies and re-times a row that came by window, and copies what its detail shows after scrolling far away", async () => {
    const writeText = vi.fn(async (_text: string) => {});
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const { model, el } = setup(100_000, 200);
    const scroller = el.querySelector<HTMLElement>(".lf-scroll")!;
    const jump = async (row: number): Promise<void> => {
      scroller.scrollTop = row * 26;
      scroller.dispatchEvent(new Event("scroll"));
      await frame();
      await new Promise((resolve) => setTimeout(resolve, 60)); // the jump settles
      await answerWindow(model);
    };
    await jump(50_000);
    const tr = el.querySelector<HTMLElement>(".lf-tr")!;
    const row = Number(tr.dataset.row);
    expect(tr.classList.contains("lf-pending")).toBe(false);
    // The JSON detail of a windowed row is that row's value, as a tree.
    (tr.children[4] as HTMLElement).click();
    const detail = el.querySelector<HTMLElement>(".lf-detail")!;
    expect(detail.hidden).toBe(false);
    expect(detail.querySelector(".lf-detail-row")!.textContent).toBe(`row ${row + 1}`);
    expect([...detail.querySelectorAll(".lf-tree-key")].map((k) => k.textContent)).toContain("user: ");
    const value = `{"user":{"id":${row},"name":"u${row}"},"ok":true}`;
    el.querySelector<HTMLElement>(".lf-copy")!.click();
    await flush();
    expect(writeText).toHaveBeenLastCalledWith(value);
    // The UTC box re-draws the windowed rows' times.
    const time = () => el.querySelector(".lf-tr")!.children[0]!.textContent;
    expect(time()).toBe(new Date(Date.UTC(2024, 4, 1, 12) - row * 1000).toISOString().replace("T", " ").slice(0, 23));
    const box = el.querySelector<HTMLInputElement>(".lf-utc-box")!;
    box.checked = false;
    box.dispatchEvent(new Event("change"));
    const local = new Date(Date.UTC(2024, 4, 1, 12) - row * 1000);
    expect(time()).toContain(`${String(local.getHours()).padStart(2, "0")}:${String(local.getMinutes()).padStart(2, "0")}`);
    // Far enough away that the browser drops the selected row's window: Copy still copies what the pane shows.
    for (let k = 1; k <= 12; k++) await jump(50_000 + k * 3_000);
    expect(detail.hidden).toBe(false);
    writeText.mockClear();
    el.querySelector<HTMLElement>(".lf-copy")!.click();
    await flush();
    expect(writeText).toHaveBeenCalledWith(value);
  });

  it("says in one sentence when the range has no rows, and shows a query error", async () => {
    const { model, el } = setup(20);
    model.state.head = view(recordsIPC(0));
    model.change("status", { state: "ready", rows: 0, min_timestamp: "now-7d", max_timestamp: "", from_ms: 0, to_ms: 3_600_000 });
    model.change("revision", 2);
    const message = el.querySelector<HTMLElement>(".lf-message")!;
    expect(message.hidden).toBe(false);
    expect(message.textContent).toMatch(/^No rows in .*: widen the time range/);
    model.change("status", { state: "error", error: "Unknown column 'nope': check the column names." });
    expect(message.textContent).toBe("Unknown column 'nope': check the column names.");
    expect(message.classList.contains("lf-error")).toBe(true);
  });
});
