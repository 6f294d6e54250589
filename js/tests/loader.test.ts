import type { AnyModel } from "@anywidget/types";
import { describe, expect, it } from "vitest";
import { addStyles, fetchParts } from "../src/loader";
import { FakeModel } from "./helpers";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("the loader's bundle", () => {
  it("comes from the model's own _bundle when it carries this hash, with no message to the kernel", async () => {
    const model = new FakeModel({ _bundle: { hash: "h1", js: encode("js!"), css: encode("css!") } });
    const parts = await fetchParts(model as unknown as AnyModel, "h1");
    expect([text(parts.js), text(parts.css)]).toEqual(["js!", "css!"]);
    expect(model.sent).toEqual([]);
  });

  it("is asked of the kernel when the model carries none (or another version), and taken from the reply", async () => {
    const model = new FakeModel({ _bundle: { hash: "old", js: encode("x"), css: encode("y") } });
    const parts = fetchParts(model as unknown as AnyModel, "h1");
    expect(model.sent).toEqual([{ type: "bundle", hash: "h1" }]);
    model.reply({ type: "reply", id: 3 }); // another widget's answer: not for the loader
    model.reply({ type: "bundle", hash: "h1" }, [encode("js!"), encode("css!")]);
    const got = await parts;
    expect([text(got.js), text(got.css)]).toEqual(["js!", "css!"]);
  });

  it("fails with a sentence when the kernel answers with another version", async () => {
    const model = new FakeModel({});
    const parts = fetchParts(model as unknown as AnyModel, "h1");
    model.reply({ type: "bundle", hash: "h2" }, [encode("a"), encode("b")]);
    await expect(parts).rejects.toThrow("another version");
  });
});

describe("the loader's styles", () => {
  it("go into the document once, however many views", () => {
    for (let i = 0; i < 3; i++) {
      const el = document.createElement("div");
      document.body.appendChild(el);
      addStyles(el, ".lf-root{color:red}", "h1");
    }
    expect(document.head.querySelectorAll('style[data-bundle="logfire-notebook-h1"]').length).toBe(1);
  });

  it("go into the shadow root a view lives in (marimo), which the document's styles do not reach", () => {
    const host = document.createElement("div");
    document.body.appendChild(host);
    const shadow = host.attachShadow({ mode: "open" });
    const el = document.createElement("div");
    shadow.appendChild(el);
    addStyles(el, ".lf-root{color:red}", "h2");
    addStyles(el, ".lf-root{color:red}", "h2");
    expect(shadow.querySelectorAll("style").length).toBe(1);
    expect(shadow.querySelector("style")?.textContent).toBe(".lf-root{color:red}");
  });
});
