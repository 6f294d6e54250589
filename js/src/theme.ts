/** Light or dark, following the host: JupyterLab, VS Code, marimo, else the system setting. */

export function hostIsDark(el: Element): boolean {
  const body = document.body;
  const html = document.documentElement;
  const jp = body.dataset.jpThemeLight;
  if (jp !== undefined) return jp === "false";
  const vs = body.classList;
  if (vs.contains("vscode-light") || vs.contains("vscode-high-contrast-light")) return false;
  if (vs.contains("vscode-dark") || vs.contains("vscode-high-contrast")) return true;
  // marimo puts `dark` on an ancestor (and `data-theme` on some versions), outside the widget's shadow root.
  if (closestAcrossShadow(el, ".dark, [data-theme='dark']") || html.classList.contains("dark")) return true;
  if (closestAcrossShadow(el, ".light, [data-theme='light']") || html.classList.contains("light")) return false;
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
}

/** Element.closest that continues from a shadow root to its host (marimo renders widgets in shadow DOM). */
export function closestAcrossShadow(el: Element, selector: string): Element | null {
  let node: Element | null = el;
  while (node) {
    const found = node.closest(selector);
    if (found) return found;
    const root = node.getRootNode();
    node = root instanceof ShadowRoot ? root.host : null;
  }
  return null;
}

/** Keeps `lf-dark` on `root` in step with the host; returns a function that stops watching. */
export function followTheme(root: HTMLElement): () => void {
  const apply = (): void => {
    root.classList.toggle("lf-dark", hostIsDark(root));
  };
  apply();
  const observer = new MutationObserver(apply);
  const options = { attributes: true, attributeFilter: ["class", "data-jp-theme-light", "data-theme"] };
  observer.observe(document.body, options);
  observer.observe(document.documentElement, options);
  const media = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
  media?.addEventListener("change", apply);
  // The widget may be attached to the page after render; check again once it is.
  const timer = setTimeout(apply, 0);
  return () => {
    observer.disconnect();
    media?.removeEventListener("change", apply);
    clearTimeout(timer);
  };
}
