/**
 * The trace pane: "Trace <id>", its state, and the waterfall. `open()` asks the kernel for the trace's spans
 * (a "trace" request answered with Arrow IPC, see rpc.ts); a newer `open()` supersedes an older one.
 */
import { decode, viewBytes } from "../arrow";
import { h } from "../dom";
import { formatElapsed } from "../format";
import type { Rpc } from "../rpc";
import { Waterfall } from "./waterfall";
import "./trace.css";

export interface TraceReply {
  trace_id?: string;
  rows?: number;
  limit_reached?: boolean;
  elapsed_ms?: number;
}

export class TracePane {
  readonly el: HTMLElement;
  readonly waterfall = new Waterfall();
  private readonly title: HTMLElement;
  private readonly state: HTMLElement;
  private readonly message: HTMLElement;
  private readonly rpc: Rpc;

  /** `closable`: a close button hides the pane (in the table widget; a LogfireTrace has nothing else). */
  constructor(rpc: Rpc, closable: boolean) {
    this.rpc = rpc;
    this.title = h("span", { class: "lf-trace-title" });
    this.state = h("span", { class: "lf-status" });
    this.message = h("div", { class: "lf-trace-message-box", hidden: "" });
    const head = h("div", { class: "lf-trace-head" }, this.title, this.state, h("span", { class: "lf-spacer-flex" }));
    if (closable) {
      const close = h("button", { class: "lf-btn lf-close lf-trace-close", title: "Close the trace", "aria-label": "Close the trace" }, "×");
      close.addEventListener("click", () => this.close());
      head.append(close);
    }
    this.el = h("div", { class: "lf-trace", hidden: "" }, head, this.message, this.waterfall.el);
  }

  async open(traceId: string, atMs: number | null): Promise<void> {
    this.el.hidden = false;
    this.el.dataset.state = "loading";
    this.el.dataset.traceId = traceId;
    this.title.textContent = `Trace ${traceId}`;
    this.state.textContent = "Loading…";
    this.message.hidden = true;
    const request = this.rpc.request("trace", { trace_id: traceId, at_ms: atMs });
    try {
      const reply = await request;
      if (!this.rpc.isLatest("trace", request.id)) return;
      const msg = reply.msg as TraceReply;
      const buffer = reply.buffers[0];
      if (!buffer) throw new Error("The kernel sent no spans.");
      const data = decode(viewBytes(buffer));
      this.waterfall.setData(data);
      const rows = msg.rows ?? data.numRows;
      this.state.textContent = msg.elapsed_ms !== undefined ? `query ${formatElapsed(msg.elapsed_ms)}` : "";
      if (rows === 0) {
        this.showMessage(
          "No spans of this trace in the time searched: it may be older than the data kept, or the id is wrong.",
        );
      } else if (msg.limit_reached) {
        this.showMessage(`The trace has more than ${rows.toLocaleString("en-US")} rows: the first ones are shown.`);
      }
      this.el.dataset.state = "ready";
    } catch (err) {
      if (!this.rpc.isLatest("trace", request.id)) return;
      this.state.textContent = "";
      this.showMessage((err as Error).message);
      this.el.dataset.state = "error";
    }
  }

  close(): void {
    this.el.hidden = true;
    delete this.el.dataset.traceId;
  }

  private showMessage(text: string): void {
    this.message.textContent = text;
    this.message.hidden = false;
  }
}
