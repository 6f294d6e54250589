/**
 * The widget's Table/Chart switch and the chart's controls (kind, x, y, series), wired to the kernel's traits
 * (`view_as`, `chart_kind`, `chart_x`, `chart_y`, `chart_series`, see logfire_notebook/_chart.py).
 * The chart's rows come by a "chart" request for the columns chosen; a reply to a superseded request is
 * dropped.
 */
import type { AnyModel } from "@anywidget/types";
import { type ColumnInfo, decode, viewBytes } from "./arrow";
import { CHART_KINDS, type ChartChoice, type ChartKind, ChartView, chooseAxes, pivot } from "./chart";
import { h } from "./dom";
import type { Rpc } from "./rpc";

export interface ChartTraits {
  view_as: "table" | "chart";
  chart_kind: ChartKind;
  chart_x: string;
  chart_y: string[];
  chart_series: string;
}

export class ChartPanel {
  /** The Table | Chart switch, for the toolbar. */
  readonly switch: HTMLElement;
  /** The chart and its controls, shown in place of the table. */
  readonly el: HTMLElement;
  readonly view: ChartView;
  private readonly kindSelect: HTMLSelectElement;
  private readonly seriesSelect: HTMLSelectElement;
  private readonly xSelect: HTMLSelectElement;
  /** The numeric columns to draw: a checkbox each, in a drop-down (a result may have many). */
  private readonly yPicker: HTMLDetailsElement;
  private readonly buttons: Record<"table" | "chart", HTMLButtonElement>;
  private columns: ColumnInfo[] = [];
  private readonly traitEvents = ["change:view_as", "change:chart_kind", "change:chart_x", "change:chart_y", "change:chart_series"];
  private readonly onTraits = (): void => this.apply();

  constructor(
    private readonly model: AnyModel<ChartTraits>,
    private readonly rpc: Rpc,
    private readonly range: () => { from: number; to: number; utc: boolean } | null,
    onSelect: (from: number, to: number) => void,
    private readonly onView: (view: "table" | "chart") => void,
  ) {
    const button = (view: "table" | "chart", label: string): HTMLButtonElement => {
      const b = h("button", { class: `lf-btn lf-view-${view}`, "aria-pressed": "false" }, label);
      b.addEventListener("click", () => this.save({ view_as: view }));
      return b;
    };
    this.buttons = { table: button("table", "Table"), chart: button("chart", "Chart") };
    this.switch = h("div", { class: "lf-view-switch", role: "group", "aria-label": "Show as" }, this.buttons.table, this.buttons.chart);
    this.kindSelect = h("select", { class: "lf-chart-kind", title: "How each series is drawn" });
    for (const [kind, label] of CHART_KINDS) this.kindSelect.append(h("option", { value: kind }, label));
    this.kindSelect.addEventListener("change", () => this.save({ chart_kind: this.kindSelect.value as ChartKind }));
    this.seriesSelect = h("select", { class: "lf-chart-series", title: "The column whose values are the series" });
    this.seriesSelect.addEventListener("change", () => this.save({ chart_series: this.seriesSelect.value }));
    this.xSelect = h("select", { class: "lf-chart-x", title: "The time column along the x axis" });
    this.xSelect.addEventListener("change", () => this.save({ chart_x: this.xSelect.value }));
    this.yPicker = h("details", { class: "lf-chart-y" });
    this.yPicker.addEventListener("change", () => this.save({ chart_y: this.checkedY() }));
    this.view = new ChartView(onSelect);
    const controls = h(
      "div",
      { class: "lf-chart-controls" },
      this.kindSelect,
      h("label", {}, "X ", this.xSelect),
      this.yPicker,
      h("label", {}, "Series ", this.seriesSelect),
    );
    this.el = h("div", { class: "lf-chart-panel", hidden: "" }, controls, this.view.el);
    for (const e of this.traitEvents) model.on(e, this.onTraits);
  }

  get shown(): boolean {
    return this.model.get("view_as") === "chart";
  }

  /** A new result (its columns): redraw if the chart is shown. */
  setColumns(columns: ColumnInfo[]): void {
    this.columns = columns;
    this.apply();
  }

  /** Shows the view the traits say, and the chart when it is that. */
  apply(): void {
    const chart = this.shown;
    this.buttons.chart.setAttribute("aria-pressed", String(chart));
    this.buttons.table.setAttribute("aria-pressed", String(!chart));
    this.el.hidden = !chart;
    this.onView(chart ? "chart" : "table");
    this.kindSelect.value = this.model.get("chart_kind") ?? "line";
    if (chart) void this.refresh();
  }

  private choice(): ChartChoice | null {
    return chooseAxes(this.columns, {
      x: this.model.get("chart_x") || undefined,
      y: this.model.get("chart_y") ?? [],
      series: this.model.get("chart_series") || undefined,
    });
  }

  /** The x, y and series pickers, for this result's columns and the current choice. */
  private fillPickers(choice: ChartChoice): void {
    const named = (select: HTMLSelectElement, names: string[], value: string): void => {
      select.textContent = "";
      select.append(h("option", { value: "" }, "(automatic)"));
      for (const name of names) select.append(h("option", { value: name }, name));
      select.value = names.includes(value) ? value : "";
    };
    const isTime = (c: ColumnInfo) => c.kind === "timestamp" || c.kind === "date";
    const isNumber = (c: ColumnInfo) => c.kind === "number" || c.kind === "duration";
    named(this.xSelect, this.columns.filter(isTime).map((c) => c.name), this.model.get("chart_x") ?? "");
    this.xSelect.title = `X: ${choice.x}`;
    named(
      this.seriesSelect,
      this.columns.filter((c) => c.kind === "text" || c.kind === "level").map((c) => c.name),
      this.model.get("chart_series") ?? "",
    );
    this.seriesSelect.title = `Series: ${choice.series || "none"}`;

    const wasOpen = this.yPicker.open;
    this.yPicker.textContent = "";
    this.yPicker.append(h("summary", { title: "The numeric columns drawn" }, `Y: ${choice.y.join(", ")}`));
    const list = h("div", { class: "lf-chart-y-list" });
    for (const c of this.columns.filter((c) => isNumber(c) && c.name !== choice.x)) {
      const box = h("input", { type: "checkbox", value: c.name });
      box.checked = choice.y.includes(c.name);
      list.append(h("label", {}, box, ` ${c.name}`));
    }
    this.yPicker.append(list);
    this.yPicker.open = wasOpen;
  }

  /** The y columns ticked; all of them ticked is the automatic choice (every numeric column, even new ones). */
  private checkedY(): string[] {
    const boxes = [...this.yPicker.querySelectorAll<HTMLInputElement>("input[type=checkbox]")];
    const checked = boxes.filter((b) => b.checked).map((b) => b.value);
    return checked.length === boxes.length ? [] : checked;
  }

  private async refresh(): Promise<void> {
    const range = this.range();
    const choice = this.choice();
    if (!choice || !range) {
      this.view.setNote(
        this.columns.length
          ? "Nothing to chart: the result needs a time column and a numeric one (e.g. time_bucket(...) and count(*))."
          : "",
      );
      return;
    }
    this.fillPickers(choice);
    const request = this.rpc.request("chart", { x: choice.x, y: choice.y, series: choice.series });
    let reply;
    try {
      reply = await request;
    } catch (err) {
      if (this.rpc.isLatest("chart", request.id)) this.view.setNote((err as Error).message);
      return;
    }
    if (!this.rpc.isLatest("chart", request.id) || !this.shown) return;
    const buffer = reply.buffers[0];
    if (reply.msg.ok === false || !buffer) {
      this.view.setNote(String(reply.msg.error ?? "The chart's rows could not be read."));
      return;
    }
    const data = decode(viewBytes(buffer));
    const pivoted = pivot(data, choice);
    this.view.setNote(reply.msg.cut ? `Only the first ${Number(reply.msg.rows).toLocaleString()} rows are drawn.` : "");
    this.view.draw(pivoted, this.model.get("chart_kind") ?? "line", range.from, range.to, range.utc);
  }

  private save(values: Partial<ChartTraits>): void {
    for (const [key, value] of Object.entries(values)) this.model.set(key as keyof ChartTraits, value as never);
    this.model.save_changes();
    this.apply();
  }

  dispose(): void {
    for (const e of this.traitEvents) this.model.off(e, this.onTraits);
    this.view.destroy();
  }
}
