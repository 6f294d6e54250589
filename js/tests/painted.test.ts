import { describe, expect, it } from "vitest";
import { render } from "../src/widget";
import { FakeModel, RESULT_STATE, recordsIPC } from "./helpers";

const STATE = {
  ...RESULT_STATE,
  status: { state: "ready", rows: 5000, min_timestamp: "now-7d", max_timestamp: "" },
  timeline: { histogram: null, note: "", revision: 0 },
};

function head(n: number): DataView {
  const bytes = recordsIPC(n);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const frame = (): Promise<void> => new Promise((resolve) => requestAnimationFrame(() => resolve()));
const task = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
const painted = (model: FakeModel) => model.sent.filter((m) => m.type === "painted");
/** A painted frame, then the tasks after it (where the view sends its notice). */
const afterPaint = async (): Promise<void> => {
  await frame();
  await task();
  await task();
};

describe("the painted notice", () => {
  it("tells the kernel once per result, after the frame that drew its rows", async () => {
    const model = new FakeModel({ ...STATE, head: head(200) });
    const el = document.createElement("div");
    document.body.append(el);
    const dispose = render({ model: model as never, el });
    expect(painted(model)).toEqual([]); // not before a frame is painted
    await afterPaint();
    expect(painted(model)).toEqual([{ type: "painted", revision: 1 }]);

    // marimo sends a result's traits one by one: its head after its revision shows it again, said once.
    model.change("revision", 2);
    model.change("head", head(100));
    await afterPaint();
    expect(painted(model)).toEqual([
      { type: "painted", revision: 1 },
      { type: "painted", revision: 2 },
    ]);
    dispose();
  });

  it("waits for the view to be on the page, and says nothing once disposed", async () => {
    const model = new FakeModel({ ...STATE, head: head(200) });
    const el = document.createElement("div"); // not attached: JupyterLab attaches an output after render
    const dispose = render({ model: model as never, el });
    await frame();
    await task();
    await frame();
    await task();
    expect(painted(model)).toEqual([]);
    document.body.append(el);
    await frame();
    await afterPaint();
    expect(painted(model)).toEqual([{ type: "painted", revision: 1 }]);

    model.change("revision", 2);
    model.change("head", head(100));
    dispose();
    await afterPaint();
    expect(painted(model)).toHaveLength(1);
  });
});
