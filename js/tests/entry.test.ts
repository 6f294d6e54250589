import { describe, expect, it } from "vitest";
import * as entry from "../src/index";

describe("the bundle's entry", () => {
  it("has anywidget's current form: only a default export with render (no deprecated named render)", () => {
    expect(Object.keys(entry)).toEqual(["default"]);
    expect(typeof entry.default.render).toBe("function");
  });
});
