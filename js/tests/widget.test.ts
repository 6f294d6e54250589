import { beforeEach, describe, expect, it } from "vitest";
import { render } from "../src/widget";
import { FakeModel, flush, recordsIPC } from "./helpers";

const STATE = {
  query: "SELECT * FROM records",
  language: "SQL",
  min_timestamp: "now-7d",
  max_timestamp: "",
  utc: true,
  local: false,
  revision: 1,
  limit_hint: "raise --limit or use --all",
  status: { state: "ready", rows: 5000, elapsed_ms: 42, limit: 5000, limit_reached: true, min_timestamp: "now-7d", max_timestamp: "" },
};

function setup(): { model: FakeModel; el: HTMLElement } {
  const model = new FakeModel(STATE);
  const el = document.createElement("div");
  document.body.append(el);
  // happy-dom has no layout: give the scroller a height so the virtual window has rows to fill.
  render({ model: model as never, el });
  const scroller = el.querySelector<HTMLElement>(".lf-scroll")!;
  Object.defineProperty(scroller, "clientHeight", { value: 400, configurable: true });
  return { model, el };
}

async function answer(model: FakeModel, rows: number): Promise<void> {
  const request = model.lastRequest();
  model.reply({ type: "reply", id: request.id, ok: true, rows, timeline: null }, [recordsIPC(rows)]);
  await flush();
}

beforeEach(() => {
  document.body.textContent = "";
});

describe("the widget against a fake model", () => {
  it("asks the kernel for rows with a request id and shows them from Arrow", async () => {
    const { model, el } = setup();
    expect(model.lastRequest()).toMatchObject({ type: "request", kind: "data", id: 1 });
    await answer(model, 5000);
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
  });

  it("keeps the DOM bounded at 100,000 rows", async () => {
    const { model, el } = setup();
    await answer(model, 100_000);
    expect(el.querySelector<HTMLElement>(".lf-spacer")!.style.height).toBe(`${100_000 * 26}px`);
    expect(el.querySelectorAll(".lf-tr").length).toBeLessThanOrEqual(200);
  });

  it("sorts when a header is clicked", async () => {
    const { model, el } = setup();
    await answer(model, 300);
    el.querySelector<HTMLElement>('.lf-th[data-col="span_name"]')!.click();
    const names = [...el.querySelectorAll(".lf-tr")].map((tr) => tr.children[2]!.textContent!);
    expect(names).toEqual([...names].sort());
    expect(names[0]).toBe("span a");
  });

  it("sends a picked range to the kernel and shows loading until its result", async () => {
    const { model, el } = setup();
    await answer(model, 50);
    el.querySelector<HTMLElement>(".lf-range")!.click();
    el.querySelector<HTMLElement>('.lf-quick-item[data-min="now-1h"]')!.click();
    expect(model.state.min_timestamp).toBe("now-1h");
    expect(model.state.max_timestamp).toBe("");
    expect(model.saves).toBe(1);
    expect(el.querySelector(".lf-root")!.classList.contains("lf-loading")).toBe(true);
    expect(el.querySelector(".lf-range-label")!.textContent).toBe("Last 1 hour");
  });

  it("ignores a result for a range the user has since replaced", async () => {
    const { model, el } = setup();
    await answer(model, 50);
    const sentBefore = model.sent.length;
    el.querySelector<HTMLElement>(".lf-range")!.click();
    el.querySelector<HTMLElement>('.lf-quick-item[data-min="now-1h"]')!.click();
    // The kernel finishes the older 7-day query first: no rows are requested for it.
    model.change("status", { ...STATE.status, min_timestamp: "now-7d" });
    model.change("revision", 2);
    expect(model.sent.length).toBe(sentBefore);
    model.change("status", { state: "ready", rows: 7, min_timestamp: "now-1h", max_timestamp: "" });
    model.change("revision", 3);
    expect(model.sent.length).toBe(sentBefore + 1);
    await answer(model, 7);
    expect(el.querySelector(".lf-root")!.classList.contains("lf-loading")).toBe(false);
    // The footer is about the rows on screen: the new range's count, name and no stale limit note.
    expect(el.querySelector(".lf-status-text")!.textContent).toBe("7 rows · Last 1 hour");
    expect(el.querySelector<HTMLElement>(".lf-limit")!.hidden).toBe(true);
  });

  it("does not claim a limit for a result fetched in pages (--all)", async () => {
    const { model, el } = setup();
    await answer(model, 20);
    model.change("status", { state: "ready", rows: 102_987, elapsed_ms: 3210, limit: null, limit_reached: false, min_timestamp: "now-8d", max_timestamp: "" });
    model.change("revision", 2);
    await answer(model, 20);
    expect(el.querySelector(".lf-status-text")!.textContent).toBe("102,987 rows · 3.21 s · Last 8 days");
    expect(el.querySelector<HTMLElement>(".lf-limit")!.hidden).toBe(true);
  });

  it("opens a JSON cell as a tree and shows the whole of a long text", async () => {
    const { model, el } = setup();
    await answer(model, 20);
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

  it("says in one sentence when the range has no rows, and shows a query error", async () => {
    const { model, el } = setup();
    model.change("status", { state: "ready", rows: 0, min_timestamp: "now-7d", max_timestamp: "", from_ms: 0, to_ms: 3_600_000 });
    await answer(model, 0);
    const message = el.querySelector<HTMLElement>(".lf-message")!;
    expect(message.hidden).toBe(false);
    expect(message.textContent).toMatch(/^No rows in .*: widen the time range/);
    model.change("status", { state: "error", error: "Unknown column 'nope': check the column names." });
    expect(message.textContent).toBe("Unknown column 'nope': check the column names.");
    expect(message.classList.contains("lf-error")).toBe(true);
  });
});
