/**
 * The `_esm` every widget instance carries: a small stub that loads the real bundle (widget.js and
 * widget.css, ~160 KB) once per page and hands each view to it. anywidget would otherwise send the whole
 * bundle with every instance and import it again each time.
 *
 * The bundle is keyed by its content hash (written into this stub by the kernel, see `_bundle.py`), so a page
 * that met an older version of the package never runs stale code. It comes from the model's `_bundle` trait
 * when the kernel sent it there (its first widget), else by one custom message to the kernel, answered with
 * the two files as binary buffers; the same path works in JupyterLab, Notebook 7, VS Code and marimo.
 */
import type { AnyModel, RenderProps } from "@anywidget/types";

/** Replaced by the kernel with the bundle's content hash when it serves this stub. */
export const BUNDLE_HASH = "__LOGFIRE_NOTEBOOK_BUNDLE_HASH__";

type Bytes = DataView | ArrayBuffer | Uint8Array;

interface Carried {
  hash?: string;
  js?: Bytes;
  css?: Bytes;
}

interface Widget {
  render(props: RenderProps): unknown;
}

interface Loaded {
  widget: Widget;
  css: string;
}

/** The loaded bundles of this page, by hash: one promise each, shared by every widget. */
function cache(): Map<string, Promise<Loaded>> {
  const global = globalThis as { __logfireNotebookBundles?: Map<string, Promise<Loaded>> };
  global.__logfireNotebookBundles ??= new Map();
  return global.__logfireNotebookBundles;
}

function bytes(view: Bytes): Uint8Array {
  if (view instanceof Uint8Array) return view;
  if (view instanceof ArrayBuffer) return new Uint8Array(view);
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** The bundle's two files: from the model's own state when it carries them, else asked of the kernel. */
export function fetchParts(model: AnyModel, hash: string): Promise<{ js: Uint8Array; css: Uint8Array }> {
  const carried = model.get("_bundle") as Carried | undefined;
  if (carried?.hash === hash && carried.js && carried.css) {
    return Promise.resolve({ js: bytes(carried.js), css: bytes(carried.css) });
  }
  return new Promise((resolve, reject) => {
    const onMessage = (msg: unknown, buffers: DataView[] = []): void => {
      const m = msg as { type?: unknown; hash?: unknown } | null;
      if (!m || m.type !== "bundle") return;
      model.off("msg:custom", onMessage);
      const [js, css] = buffers;
      if (m.hash !== hash || !js || !css) reject(new Error("The kernel sent another version of the widget."));
      else resolve({ js: bytes(js), css: bytes(css) });
    };
    model.on("msg:custom", onMessage);
    model.send({ type: "bundle", hash });
  });
}

async function importParts(parts: { js: Uint8Array; css: Uint8Array }): Promise<Loaded> {
  const url = URL.createObjectURL(new Blob([parts.js as BlobPart], { type: "text/javascript" }));
  try {
    const module = (await import(/* @vite-ignore */ url)) as { default: Widget };
    return { widget: module.default, css: new TextDecoder().decode(parts.css) };
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The bundle for `hash`, loaded once per page; a failed load is forgotten, so the next widget retries. */
export function loadBundle(model: AnyModel, hash: string = BUNDLE_HASH): Promise<Loaded> {
  const loaded = cache();
  let promise = loaded.get(hash);
  if (!promise) {
    const fresh = fetchParts(model, hash).then(importParts);
    fresh.catch(() => {
      if (loaded.get(hash) === fresh) loaded.delete(hash);
    });
    loaded.set(hash, fresh);
    promise = fresh;
  }
  return promise;
}

/**
 * Adds the stylesheet to the document, or to the shadow root the view lives in (marimo draws widgets in
 * shadow DOM, which the document's styles do not reach), once per root.
 */
export function addStyles(el: HTMLElement, css: string, hash: string = BUNDLE_HASH): void {
  const root = el.getRootNode();
  const target = root instanceof ShadowRoot ? root : document.head;
  const id = `logfire-notebook-${hash}`;
  if (target.querySelector(`style[data-bundle="${id}"]`)) return;
  const style = document.createElement("style");
  style.dataset.bundle = id;
  style.textContent = css;
  target.appendChild(style);
}

export default {
  // Starts the load as soon as the model exists, before its first view asks for it.
  initialize({ model }: { model: AnyModel }): void {
    loadBundle(model).catch(() => undefined);
  },
  async render(props: RenderProps): Promise<unknown> {
    const loaded = await loadBundle(props.model);
    addStyles(props.el, loaded.css);
    return loaded.widget.render(props);
  },
};
