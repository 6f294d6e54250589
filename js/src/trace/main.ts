/** LogfireTrace's front end: the trace pane alone, opened on the model's `trace_id` at once. */
import type { AnyModel, RenderProps } from "@anywidget/types";
import { h } from "../dom";
import { Rpc } from "../rpc";
import { followTheme } from "../theme";
import { TracePane } from "./pane";

export interface TraceModel {
  view: "trace";
  trace_id: string;
  utc: boolean;
}

export function renderTrace({ model, el }: Pick<RenderProps<TraceModel>, "model" | "el">): () => void {
  const m = model as unknown as AnyModel<TraceModel>;
  const rpc = new Rpc(m as unknown as AnyModel);
  const pane = new TracePane(rpc, false);
  const root = h("div", { class: "lf-root lf-trace-root" }, pane.el);
  el.append(root);
  const stopTheme = followTheme(root);
  const applyUtc = (): void => pane.waterfall.setUtc(m.get("utc"));
  m.on("change:utc", applyUtc);
  applyUtc();
  void pane.open(m.get("trace_id"), null);
  return () => {
    stopTheme();
    rpc.dispose();
    m.off("change:utc", applyUtc);
    root.remove();
  };
}
