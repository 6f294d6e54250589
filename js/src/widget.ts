/**
 * LogfireTable's front end. State the kernel owns arrives as traits (range, status, revision, and the
 * result's first rows as Arrow IPC in `head`); other rows arrive by window, as Arrow IPC in a binary buffer
 * in reply to a request (see window.ts, rpc.ts). Nothing is fetched from the network.
 */
import type { AnyModel, RenderProps } from "@anywidget/types";
import { type Data, decode, viewBytes } from "./arrow";
import { ChartPanel, type ChartTraits } from "./chart_panel";
import { h } from "./dom";
import { Footer } from "./footer";
import { LiveLoop, MARK_MS, liveToggle } from "./live";
import { PaintedNotice } from "./painted";
import { Picker } from "./picker";
import { type RangeSpec, absolute, formatRange, sameRange } from "./range";
import { Rpc } from "./rpc";
import { TableView } from "./table";
import { followTheme } from "./theme";
import { type Histogram, Timeline } from "./timeline";
import { renderTrace } from "./trace/main";
import { TracePane } from "./trace/pane";
import { RowWindows, type WindowRequest } from "./window";
import "./widget.css";

export interface Status {
  state?: "loading" | "ready" | "error";
  rows?: number;
  elapsed_ms?: number;
  limit?: number | null;
  limit_reached?: boolean;
  error?: string;
  /** The resolved range of the last query, epoch ms. */
  from_ms?: number;
  to_ms?: number;
  /** The same two instants as ISO strings (exact to the microsecond). */
  window?: [string, string];
  /** The range text this result was queried for. */
  min_timestamp?: string;
  max_timestamp?: string;
}

export interface Model extends ChartTraits {
  /** Live mode: follow new data while the range ends at now (see live.ts). */
  live: boolean;
  /** Seconds between Live polls. */
  live_interval: number;
  query: string;
  language: string;
  min_timestamp: string;
  max_timestamp: string;
  utc: boolean;
  revision: number;
  /** What the footer suggests when the row limit cut the result. */
  limit_hint: string;
  status: Status;
  local: boolean;
  /** The result's first rows (all of them for a small result), Arrow IPC. */
  head: DataView | ArrayBuffer | Uint8Array | null;
  /** The timeline of result `revision`; it may come in a later message than the result's rows. */
  timeline: { histogram?: Histogram | null; note?: string; revision?: number };
  /** The result's column holding trace ids ("" for none); its cells open the trace. */
  trace_column: string;
  /** The result's column whose map entries show as label chips ("" for none; LokiTable: "labels"). */
  label_column?: string;
  /** The last label-chip click, for the kernel to narrow the query by (LokiTable). */
  chip_click?: { label: string; value: string; click: number };
  /** "trace" for a LogfireTrace, which shares this bundle. */
  view?: string;
}

/**
 * Marks a step of showing a picked range's result on the page's performance timeline, one entry per name
 * (replaced each time, so nothing accumulates): bench/widget_interaction.py reads them to say where the time
 * goes. `lf-range-sent`: the range left for the kernel; `lf-result`: its result's message arrived;
 * `lf-decoded`: its Arrow rows decoded; `lf-shown`: the table and footer hold them (the next frame paints).
 */
/** A query shows as loading (the moving bar, dimmed rows) once it has taken this long: a quicker answer
 * replaces the rows without a flash, and without repainting the page twice while it is on its way. */
export const LOADING_DELAY_MS = 200;

function mark(name: string): void {
  performance.clearMarks(name);
  performance.mark(name);
}

export function render({ model, el }: Pick<RenderProps<Model>, "model" | "el">): () => void {
  if (model.get("view") === "trace") return renderTrace({ model: model as never, el });
  const m = model as AnyModel<Model>;
  const rpc = new Rpc(m as AnyModel);
  const table = new TableView();
  const footer = new Footer();
  const trace = new TracePane(rpc, true);
  table.onOpenTrace = (traceId, atMs) => void trace.open(traceId, atMs);
  // A label chip narrows the query in the kernel (it knows the query language), which then re-runs it. A
  // trait change, not a message: marimo re-runs the cells that read the widget on trait changes only.
  table.onLabel = (label, value) => {
    m.set("chip_click", { label, value, click: (m.get("chip_click")?.click ?? 0) + 1 });
    m.save_changes();
  };
  const message = h("div", { class: "lf-message", hidden: "" });
  const progress = h("div", { class: "lf-progress" });
  let pendingRange = false;
  let hasData = false;

  async function fetchWindow(request: WindowRequest): Promise<Data | null> {
    const reply = await rpc.request("window", { ...request });
    const buffer = reply.buffers[0];
    // Stale: the kernel has a newer result, which comes in `head`; this answer is dropped.
    return reply.msg.stale || !buffer ? null : decode(viewBytes(buffer));
  }
  const windows = new RowWindows(
    fetchWindow,
    () => table.render(),
    (text) => showMessage(text, true),
  );

  const setRange = (spec: RangeSpec): void => {
    // The same range again changes no trait, so no result would come to end the loading state.
    if (sameRange(spec, { min: m.get("min_timestamp"), max: m.get("max_timestamp") })) return;
    pendingRange = true;
    m.set("min_timestamp", spec.min);
    m.set("max_timestamp", spec.max);
    m.save_changes();
    mark("lf-range-sent");
    showStatus();
  };
  const picker = new Picker({
    onRange: setRange,
    onUtc: (utc) => {
      m.set("utc", utc);
      m.save_changes();
      applyUtc();
    },
  });
  const timeline = new Timeline((from, to) => {
    const spec = absolute(from, to);
    picker.set(spec, m.get("utc"));
    setRange(spec);
  });

  const chart = new ChartPanel(
    m as never,
    rpc,
    () => {
      const st = m.get("status") ?? {};
      return st.from_ms === undefined || st.to_ms === undefined ? null : { from: st.from_ms, to: st.to_ms, utc: m.get("utc") };
    },
    (from, to) => {
      const spec = absolute(from, to);
      picker.set(spec, m.get("utc"));
      setRange(spec);
    },
    (view) => {
      table.el.style.display = view === "chart" ? "none" : "";
      root.dataset.view = view;
    },
  );
  const live = liveToggle((on) => {
    m.set("live", on);
    m.save_changes();
    followLive();
  });
  let lastScroll = 0;
  const liveLoop = new LiveLoop({
    poll: async () => {
      root.dataset.livePolls = String(liveLoop.polls); // what the browser test counts
      return Number((await rpc.request("live")).msg.new ?? 0);
    },
    pausedBecause: () => {
      if (document.visibilityState === "hidden") return "the page is hidden";
      if (pendingRange || m.get("status")?.state === "loading") return "a query is running";
      const scroller = table.el.querySelector<HTMLElement>(".lf-scroll");
      if ((scroller?.scrollTop ?? 0) > 0 || Date.now() - lastScroll < 2000) return "the rows are being read";
      if (root.querySelector(".lf-detail:not([hidden])") || !trace.el.hidden) return "a detail is open";
      return "";
    },
    shown: () => root.isConnected,
    interval: () => m.get("live_interval") ?? 5,
    onNew: (count) => markFresh(count),
    onStop: (reason) => {
      m.set("live", false);
      m.save_changes();
      followLive();
      showMessage(reason, true);
    },
  });
  table.el.addEventListener("scroll", () => (lastScroll = Date.now()), { capture: true, passive: true });
  let freshTimer: ReturnType<typeof setTimeout> | null = null;
  /** Marks the `count` rows that just arrived on top, for a moment. */
  function markFresh(count: number): void {
    root.dataset.fresh = String(count);
    const mark = (): void => {
      for (const tr of root.querySelectorAll<HTMLElement>(".lf-body .lf-tr")) {
        tr.classList.toggle("lf-fresh", Number(tr.dataset.row) < count);
      }
    };
    mark();
    requestAnimationFrame(mark); // the table may paint the new rows on the next frame
    if (freshTimer !== null) clearTimeout(freshTimer);
    freshTimer = setTimeout(() => {
      for (const tr of root.querySelectorAll(".lf-fresh")) tr.classList.remove("lf-fresh");
    }, MARK_MS);
  }
  /** Live is offered for ranges that end at now; it runs while the trait says so. */
  function followLive(): void {
    const possible = !m.get("local") && !m.get("max_timestamp");
    live.el.hidden = !possible;
    const on = possible && Boolean(m.get("live"));
    live.box.checked = on;
    root.classList.toggle("lf-live-on", on);
    if (on) liveLoop.start();
    else liveLoop.stop();
  }
  // The query the rows are for: a LogQL widget's query changes in the widget (a label chip narrows it), so
  // it is shown; a SQL widget's query is the cell's, never changed here.
  const queryText = h("code", { class: "lf-query-text" });
  const queryLine = h("div", { class: "lf-query", hidden: "" }, h("span", { class: "lf-query-language" }), queryText);
  function showQuery(): void {
    const query = m.get("query") ?? "";
    queryLine.hidden = !query || m.get("language") !== "LogQL";
    queryLine.firstElementChild!.textContent = m.get("language") ?? "";
    queryText.textContent = query;
    queryLine.title = query;
  }
  const toolbar = h("div", { class: "lf-toolbar" }, picker.el, live.el, chart.switch);
  const main = h("div", { class: "lf-main" }, table.el, chart.el, message);
  const root = h("div", { class: "lf-root" }, progress, queryLine, toolbar, timeline.el, main, footer.el, trace.el);
  el.append(root);
  const stopTheme = followTheme(root);
  // The kernel counts a shown result's timeline once its rows are painted (see painted.ts).
  const painted = new PaintedNotice(root, (content) => m.send(content));

  function applyUtc(): void {
    const utc = m.get("utc");
    picker.set({ min: m.get("min_timestamp"), max: m.get("max_timestamp") }, utc);
    table.setUtc(utc);
    timeline.setUtc(utc);
    trace.waterfall.setUtc(utc);
    chart.view.setUtc(utc);
    showStatus(); // the footer's times follow the UTC box too
  }

  function showStatus(): void {
    const st = m.get("status") ?? {};
    const loading = pendingRange || st.state === "loading";
    root.dataset.state = loading ? "loading" : (st.state ?? "loading");
    root.classList.toggle("lf-loading", loading);
    showSlow(loading);
    if (st.window) [root.dataset.from, root.dataset.to] = st.window;
    footer.show(st, { loading, utc: m.get("utc"), hint: m.get("limit_hint") ?? "" });
    if (!loading && st.state === "error") {
      showMessage(st.error ?? "The query failed.", true);
    } else if (!loading && hasData && st.rows === 0) {
      const range =
        st.from_ms !== undefined && st.to_ms !== undefined
          ? ` in ${formatRange({ from: st.from_ms, to: st.to_ms }, m.get("utc"))}`
          : "";
      showMessage(`No rows${range}: widen the time range or loosen the query's filters.`, false);
    } else if (!loading || hasData) {
      message.hidden = true;
    }
  }

  let slowTimer: ReturnType<typeof setTimeout> | null = null;
  /** Marks the root `lf-slow` while a query has been loading for LOADING_DELAY_MS (the CSS shows it then). */
  function showSlow(loading: boolean): void {
    if (!loading) {
      if (slowTimer !== null) clearTimeout(slowTimer);
      slowTimer = null;
      root.classList.remove("lf-slow");
    } else if (slowTimer === null && !root.classList.contains("lf-slow")) {
      slowTimer = setTimeout(() => {
        slowTimer = null;
        root.classList.add("lf-slow");
      }, LOADING_DELAY_MS);
    }
  }

  function showMessage(text: string, error: boolean): void {
    message.textContent = text;
    message.classList.toggle("lf-error", error);
    message.hidden = false;
  }

  // The revision and head last shown: Jupyter sends a result's traits in one message, marimo one by one (the
  // revision may come before its head), so a result is shown again when its head comes after it.
  let shown: { revision: number; head: unknown } = { revision: -1, head: undefined };

  /** Shows the result the traits hold: its head paints at once; other rows come by window. */
  function showResult(): void {
    const head = m.get("head");
    shown = { revision: m.get("revision"), head };
    const bytes = head ? viewBytes(head) : new Uint8Array(0);
    if (bytes.byteLength > 0) {
      try {
        const data = decode(bytes);
        mark("lf-decoded");
        windows.reset(m.get("revision"), m.get("status")?.rows ?? data.numRows, data, table.sortState);
        table.setTraceColumn(m.get("trace_column") ?? "");
        table.setLabelColumn(m.get("label_column") ?? "");
        table.setRows(windows);
        root.dataset.rows = String(windows.numRows);
        hasData = true;
        chart.setColumns(data.columns);
      } catch (err) {
        showMessage(`The rows could not be read: ${(err as Error).message}`, true);
      }
    }
    showTimeline();
    showStatus();
    mark("lf-shown");
    painted.shown(m.get("revision"));
  }

  /** Draws the timeline if it counts the result shown; else the old one stays, dimmed, until it comes. */
  function showTimeline(): void {
    const tl = m.get("timeline") ?? {};
    const pending = tl.revision !== undefined && tl.revision !== m.get("revision");
    root.dataset.timeline = pending ? "pending" : "ready";
    timeline.setPending(pending);
    if (!pending) timeline.set(tl.histogram ?? null, tl.note ?? "");
  }

  const onRevision = (): void => {
    const st = m.get("status") ?? {};
    const asked = { min: m.get("min_timestamp"), max: m.get("max_timestamp") };
    const answered = { min: st.min_timestamp ?? asked.min, max: st.max_timestamp ?? asked.max };
    // A result for a range the user has since replaced: keep loading, the newer one is on its way.
    if (pendingRange && !sameRange(asked, answered)) return;
    if (m.get("revision") === shown.revision && m.get("head") === shown.head) return;
    mark("lf-result");
    pendingRange = false;
    showResult();
  };
  const onRangeTrait = (): void => {
    applyUtc();
    followLive();
  };
  const onStatus = (): void => {
    if (m.get("status")?.state === "error") pendingRange = false;
    showStatus();
  };
  const onTimeline = (): void => {
    if (!pendingRange) showTimeline();
  };
  m.on("change:revision", onRevision);
  m.on("change:head", onRevision);
  m.on("change:timeline", onTimeline);
  m.on("change:status", onStatus);
  m.on("change:min_timestamp", onRangeTrait);
  m.on("change:max_timestamp", onRangeTrait);
  m.on("change:utc", onRangeTrait);
  m.on("change:limit_hint", showStatus);
  m.on("change:live", followLive);
  m.on("change:query", showQuery);
  // Relative ranges move with the clock: refresh the shown local times every half minute.
  const clock = setInterval(() => picker.refresh(), 30_000);

  applyUtc();
  followLive();
  showQuery();
  chart.apply();
  showResult();

  return () => {
    clearInterval(clock);
    chart.dispose();
    stopTheme();
    rpc.dispose();
    windows.dispose();
    painted.dispose();
    m.off("change:revision", onRevision);
    m.off("change:head", onRevision);
    m.off("change:timeline", onTimeline);
    m.off("change:status", onStatus);
    m.off("change:min_timestamp", onRangeTrait);
    m.off("change:max_timestamp", onRangeTrait);
    m.off("change:utc", onRangeTrait);
    m.off("change:limit_hint", showStatus);
    m.off("change:live", followLive);
    m.off("change:query", showQuery);
    liveLoop.stop();
    if (freshTimer !== null) clearTimeout(freshTimer);
    if (slowTimer !== null) clearTimeout(slowTimer);
    root.remove();
  };
}

