/**
 * Tells the kernel when a result's rows are on screen: it counts the result's timeline then, not while the
 * browser is still building and painting them (on a small machine the two share the cores; see
 * logfire_notebook/_paint_gate.py). The kernel waits at most about a second for this message.
 */

/** Frames to wait for the view to be attached to the page (JupyterLab attaches an output after render). */
const MAX_FRAMES = 120;

/** Calls `fn` in the task after the first frame painted with `el` on the page (or after MAX_FRAMES). The
 * task after the frame, not the frame callback: the callback runs before that frame's layout and paint. */
export function afterPaint(el: Element, fn: () => void, frames = MAX_FRAMES): () => void {
  let handle = 0;
  let cancelled = false;
  const frame = (): void => {
    if (cancelled) return;
    if (!el.isConnected && --frames > 0) handle = requestAnimationFrame(frame);
    else setTimeout(() => cancelled || fn(), 0);
  };
  handle = requestAnimationFrame(frame);
  return () => {
    cancelled = true;
    cancelAnimationFrame(handle);
  };
}

/** Sends `{"type": "painted", "revision"}` once per revision shown, after its frame is painted. */
export class PaintedNotice {
  private said = -1;
  private cancel: (() => void) | null = null;

  constructor(
    private readonly el: Element,
    private readonly send: (content: { type: "painted"; revision: number }) => void,
  ) {}

  shown(revision: number): void {
    if (revision === this.said) return;
    this.said = revision;
    this.cancel?.();
    this.cancel = afterPaint(this.el, () => this.send({ type: "painted", revision }));
  }

  dispose(): void {
    this.cancel?.();
  }
}
