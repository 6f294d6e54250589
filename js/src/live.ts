/**
 * Live mode, browser side: while the range ends at now and the Live toggle is on, ask the kernel every
 * `live_interval` seconds for rows newer than the newest shown (a "live" request; the kernel runs the keyset
 * query and publishes them as a result, see logfire_notebook/_live.py).
 *
 * - One request at a time: the next poll is scheduled only when the answer is in, so a slow answer delays it.
 * - Paused (no request, the loop keeps ticking) while the page is hidden (document.visibilityState), while
 *   the user scrolls or has scrolled down to read, and while a detail or a trace is open.
 * - Stopped when the widget is no longer in the page, or when a poll fails (the kernel was interrupted,
 *   restarted or could not query): the toggle goes off and the message says why.
 */
import { h } from "./dom";

export interface LiveHooks {
  /** Asks the kernel; resolves with how many new rows it published. */
  poll: () => Promise<number>;
  /** Why not to poll now ("" to poll). */
  pausedBecause: () => string;
  /** False once the widget is no longer shown. */
  shown: () => boolean;
  /** Seconds between polls. */
  interval: () => number;
  onNew: (count: number) => void;
  onStop: (reason: string) => void;
}

export class LiveLoop {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inflight = false;
  running = false;
  /** Requests sent (tests read it). */
  polls = 0;

  constructor(private readonly hooks: LiveHooks) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(reason = ""): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (reason) this.hooks.onStop(reason);
  }

  private schedule(): void {
    if (!this.running || this.timer !== null || this.inflight) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, Math.max(1, this.hooks.interval()) * 1000);
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    if (!this.hooks.shown()) {
      this.stop("Live stopped: the widget is no longer shown.");
      return;
    }
    if (this.hooks.pausedBecause()) {
      this.schedule();
      return;
    }
    this.inflight = true;
    this.polls++;
    try {
      const count = await this.hooks.poll();
      if (count > 0 && this.running) this.hooks.onNew(count);
    } catch (err) {
      this.inflight = false;
      this.stop(`Live stopped: ${(err as Error).message}`);
      return;
    }
    this.inflight = false;
    this.schedule();
  }
}

/** How long rows that just arrived stay marked. */
export const MARK_MS = 2500;

/** The Live toggle, for the toolbar beside the picker; shown only for ranges that end at now. */
export function liveToggle(onChange: (on: boolean) => void): { el: HTMLElement; box: HTMLInputElement } {
  const box = h("input", { type: "checkbox", class: "lf-live-box" });
  box.addEventListener("change", () => onChange(box.checked));
  const el = h(
    "label",
    { class: "lf-live", title: "Follow new data: ask for newer rows every few seconds" },
    box,
    h("span", { class: "lf-live-dot" }),
    "Live",
  );
  return { el, box };
}
