/** Light or dark, following the host: JupyterLab, VS Code, marimo, else the system setting. */

export function hostIsDark(el: Element): boolean {
  const body = document.body;
  const html = document.documentElement;
  const jp = body.dataset.jpThemeLight;
  if (jp !== undefined) return jp === "false";
  const vs = body.classList;
  if (vs.contains("vscode-light") || vs.contains("vscode-high-contrast-light")) return false;
  if (vs.contains("vscode-dark") || vs.contains("vscode-high-contrast")) return true;
  // marimo puts `dark` on an ancestor (and `data-theme` on some versions).
  if (el.closest(".dark, [data-theme='dark']") || html.classList.contains("dark")) return true;
  if (el.closest(".light, [data-theme='light']") || html.classList.contains("light")) return false;
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
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
