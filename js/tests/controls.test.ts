import { beforeEach, describe, expect, it, vi } from "vitest";
import { hostIsDark } from "../src/theme";
import { render } from "../src/widget";
import { FakeModel, flush, recordsIPC } from "./helpers";

const STATUS = { state: "ready", rows: 20, min_timestamp: "now-6h", max_timestamp: "" };

async function setup(utc = true): Promise<{ model: FakeModel; el: HTMLElement }> {
  const model = new FakeModel({
    query: "SELECT 1",
    language: "SQL",
    min_timestamp: "now-6h",
    max_timestamp: "",
    utc,
    local: false,
    revision: 1,
    status: STATUS,
    head: recordsIPC(20), // the rows come with the result
    timeline: {},
  });
  const el = document.createElement("div");
  document.body.append(el);
  render({ model: model as never, el });
  Object.defineProperty(el.querySelector(".lf-scroll")!, "clientHeight", { value: 400, configurable: true });
  el.querySelector(".lf-scroll")!.dispatchEvent(new Event("scroll"));
  await flush();
  return { model, el };
}

beforeEach(() => {
  document.body.textContent = "";
  document.body.className = "";
  delete document.body.dataset.jpThemeLight;
});

describe("picker buttons", () => {
  it("zooms out to twice the width", async () => {
    const { model, el } = await setup();
    el.querySelector<HTMLElement>(".lf-zoom-out")!.click();
    expect(model.state.min_timestamp).toBe("now-12h");
    expect(model.state.max_timestamp).toBe("");
  });

  it("shifts back by half the width", async () => {
    const { model, el } = await setup();
    el.querySelector<HTMLElement>(".lf-shift-back")!.click();
    expect(model.state.min_timestamp).toBe("now-9h");
    expect(model.state.max_timestamp).toBe("now-3h");
  });

  it("takes a typed relative range, and refuses unreadable text in one sentence", async () => {
    const { model, el } = await setup();
    el.querySelector<HTMLElement>(".lf-range")!.click();
    const from = el.querySelector<HTMLInputElement>(".lf-from")!;
    const to = el.querySelector<HTMLInputElement>(".lf-to")!;
    from.value = "someday";
    el.querySelector<HTMLElement>(".lf-apply")!.click();
    expect(el.querySelector(".lf-picker-error")!.textContent).toMatch(/^"someday" is not a time: use now-6h/);
    from.value = "now-2d";
    to.value = "now-1d";
    el.querySelector<HTMLElement>(".lf-apply")!.click();
    expect([model.state.min_timestamp, model.state.max_timestamp]).toEqual(["now-2d", "now-1d"]);
    expect(el.querySelector(".lf-range-label")!.textContent).toBe("now-2d → now-1d");
  });

  it("sends absolute times as ISO instants", async () => {
    const { model, el } = await setup();
    el.querySelector<HTMLElement>(".lf-range")!.click();
    el.querySelector<HTMLInputElement>(".lf-from")!.value = "2024-05-01T10:00:00Z";
    el.querySelector<HTMLInputElement>(".lf-to")!.value = "2024-05-01T11:30:00Z";
    el.querySelector<HTMLElement>(".lf-apply")!.click();
    expect(model.state.min_timestamp).toBe("2024-05-01T10:00:00.000Z");
    expect(model.state.max_timestamp).toBe("2024-05-01T11:30:00.000Z");
  });
});

describe("picker fields", () => {
  it("show an absolute range as its label does, and keep the exact instant when left as they are", async () => {
    const { model, el } = await setup(true);
    // What the kernel writes back after a drag on the timeline: microseconds, Python's ISO form.
    model.change("min_timestamp", "2026-12-01T19:49:00.999000+00:00");
    model.change("max_timestamp", "2026-12-01T21:10:30+00:00");
    expect(el.querySelector(".lf-range-times")!.textContent).toBe("2026-12-01 19:49:00 → 21:10:30 UTC");
    el.querySelector<HTMLElement>(".lf-range")!.click();
    const from = el.querySelector<HTMLInputElement>(".lf-from")!;
    const to = el.querySelector<HTMLInputElement>(".lf-to")!;
    expect([from.value, to.value]).toEqual(["2026-12-01 19:49:00 UTC", "2026-12-01 21:10:30 UTC"]);
    // Changing only the end: the start is still the exact instant, not the field's rounded text.
    to.value = "2026-12-01 22:00 UTC";
    el.querySelector<HTMLElement>(".lf-apply")!.click();
    expect(model.state.min_timestamp).toBe("2026-12-01T19:49:00.999000+00:00");
    expect(model.state.max_timestamp).toBe("2026-12-01T22:00:00.000Z");
  });

  it("read a typed wall time as UTC when the UTC box is set, as local time when not", async () => {
    for (const utc of [true, false]) {
      const { model, el } = await setup(utc);
      el.querySelector<HTMLElement>(".lf-range")!.click();
      el.querySelector<HTMLInputElement>(".lf-from")!.value = "2024-05-01 10:00";
      el.querySelector<HTMLInputElement>(".lf-to")!.value = "2024-05-01 11:30:15";
      el.querySelector<HTMLElement>(".lf-apply")!.click();
      const from = utc ? Date.UTC(2024, 4, 1, 10) : new Date(2024, 4, 1, 10).getTime();
      const to = utc ? Date.UTC(2024, 4, 1, 11, 30, 15) : new Date(2024, 4, 1, 11, 30, 15).getTime();
      expect(model.state.min_timestamp).toBe(new Date(from).toISOString());
      expect(model.state.max_timestamp).toBe(new Date(to).toISOString());
      document.body.textContent = "";
    }
  });
});

describe("cells", () => {
  it("switches timestamps between UTC and local time", async () => {
    const { model, el } = await setup(true);
    const first = () => el.querySelector(".lf-tr")!.children[0]!.textContent;
    expect(first()).toBe("2024-05-01 12:00:00.000");
    const box = el.querySelector<HTMLInputElement>(".lf-utc-box")!;
    box.checked = false;
    box.dispatchEvent(new Event("change"));
    expect(model.state.utc).toBe(false);
    const local = new Date(Date.UTC(2024, 4, 1, 12));
    expect(first()).toContain(`${String(local.getHours()).padStart(2, "0")}:00:00.000`);
  });

  it("shows durations in human units and levels by name", async () => {
    const { el } = await setup();
    const row = el.querySelectorAll(".lf-tr")[1]!;
    expect(row.children[3]!.textContent).toBe("12.5 ms");
    expect(row.children[1]!.querySelector(".lf-level-warn")!.textContent).toBe("warn");
  });

  it("copies the selected cell's whole value", async () => {
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const { el } = await setup();
    (el.querySelector(".lf-tr")!.children[4] as HTMLElement).click();
    el.querySelector<HTMLElement>(".lf-copy")!.click();
    await flush();
    expect(writeText).toHaveBeenCalledWith('{"user":{"id":0,"name":"u0"},"ok":true}');
  });
});

describe("theme", () => {
  it("follows JupyterLab, VS Code and marimo", () => {
    const el = document.createElement("div");
    document.body.append(el);
    document.body.dataset.jpThemeLight = "false";
    expect(hostIsDark(el)).toBe(true);
    document.body.dataset.jpThemeLight = "true";
    expect(hostIsDark(el)).toBe(false);
    delete document.body.dataset.jpThemeLight;
    document.body.className = "vscode-dark";
    expect(hostIsDark(el)).toBe(true);
    document.body.className = "vscode-light";
    expect(hostIsDark(el)).toBe(false);
    document.body.className = "";
    // marimo: a `dark` class outside the widget's shadow root.
    const host = document.createElement("div");
    host.className = "dark";
    document.body.append(host);
    const inner = document.createElement("div");
    host.attachShadow({ mode: "open" }).append(inner);
    expect(hostIsDark(inner)).toBe(true);
  });
});
