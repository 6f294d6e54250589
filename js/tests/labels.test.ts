import { map, tableFromArrays, tableToIPC, timestamp, TimeUnit, utf8 } from "@uwdata/flechette";
import { beforeEach, describe, expect, it } from "vitest";
import { render } from "../src/widget";
import { FakeModel, flush } from "./helpers";

function lokiIPC(): Uint8Array {
  const table = tableFromArrays(
    {
      timestamp: [Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1, 0, 1)],
      line: ['{"msg": "hi"}', "level=warn msg=slow"],
      labels: [
        [
          ["service_name", "api"],
          ["level", "info"],
        ],
        [["service_name", "web"]],
      ],
    },
    { types: { timestamp: timestamp(TimeUnit.MILLISECOND, "UTC"), labels: map(utf8(), utf8()) } },
  );
  return tableToIPC(table, { format: "stream" })!;
}

beforeEach(() => {
  document.body.textContent = "";
});

describe("label chips (LokiTable)", () => {
  it("shows each label as a chip and asks the kernel to narrow on a click", async () => {
    const bytes = lokiIPC();
    const model = new FakeModel({
      query: '{service_name=~".+"}',
      language: "LogQL",
      min_timestamp: "now-1h",
      max_timestamp: "",
      utc: true,
      local: false,
      revision: 1,
      label_column: "labels",
      status: { state: "ready", rows: 2, min_timestamp: "now-1h", max_timestamp: "" },
      timeline: { histogram: null, note: "" },
      head: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    });
    const el = document.createElement("div");
    document.body.append(el);
    render({ model: model as never, el });
    const scroller = el.querySelector<HTMLElement>(".lf-scroll")!;
    Object.defineProperty(scroller, "clientHeight", { value: 400, configurable: true });
    scroller.dispatchEvent(new Event("scroll"));
    await flush();
    await new Promise((resolve) => requestAnimationFrame(() => resolve(null)));
    const chips = [...el.querySelectorAll<HTMLElement>(".lf-chip")].map((c) => c.textContent);
    expect(chips).toEqual(["service_name=api", "level=info", "service_name=web"]);
    el.querySelectorAll<HTMLElement>(".lf-chip")[2]!.click();
    expect(model.state.chip_click).toEqual({ label: "service_name", value: "web", click: 1 });
    expect(model.saves).toBe(1);
    el.querySelectorAll<HTMLElement>(".lf-chip")[2]!.click();
    expect(model.state.chip_click).toEqual({ label: "service_name", value: "web", click: 2 });
    // The query line shows what the rows are for, and follows the kernel's narrowed query.
    const line = el.querySelector<HTMLElement>(".lf-query")!;
    expect(line.hidden).toBe(false);
    expect(line.querySelector(".lf-query-text")!.textContent).toBe('{service_name=~".+"}');
    model.change("query", '{service_name="web", service_name=~".+"}');
    expect(line.querySelector(".lf-query-text")!.textContent).toBe('{service_name="web", service_name=~".+"}');
    expect(line.title).toBe('{service_name="web", service_name=~".+"}');
  });
});
