import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveLoop, type LiveHooks } from "../src/live";

function loop(overrides: Partial<LiveHooks> = {}) {
  const events: string[] = [];
  const hooks: LiveHooks = {
    poll: async () => 0,
    pausedBecause: () => "",
    shown: () => true,
    interval: () => 5,
    onNew: (n) => events.push(`new ${n}`),
    onStop: (reason) => events.push(reason),
    ...overrides,
  };
  return { live: new LiveLoop(hooks), events };
}

describe("LiveLoop", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("polls every interval and reports new rows", async () => {
    let answer = 0;
    const { live, events } = loop({ poll: async () => answer++ });
    live.start();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(live.polls).toBe(0);
    await vi.advanceTimersByTimeAsync(10_001);
    expect(live.polls).toBe(3);
    expect(events).toEqual(["new 1", "new 2"]);
  });

  it("never stacks requests: a slow answer delays the next poll", async () => {
    let resolve: (n: number) => void = () => {};
    const { live } = loop({ poll: () => new Promise<number>((r) => (resolve = r)) });
    live.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(live.polls).toBe(1);
    resolve(0);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(live.polls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(live.polls).toBe(2);
  });

  it("sends nothing while paused (page hidden, reading) and resumes after", async () => {
    let paused = "the page is hidden";
    const { live } = loop({ pausedBecause: () => paused });
    live.start();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(live.polls).toBe(0);
    paused = "";
    await vi.advanceTimersByTimeAsync(5_000);
    expect(live.polls).toBe(1);
  });

  it("stops, saying why, when a poll fails or the widget is no longer shown", async () => {
    const failing = loop({ poll: async () => Promise.reject(new Error("The query was interrupted.")) });
    failing.live.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(failing.live.polls).toBe(1);
    expect(failing.live.running).toBe(false);
    expect(failing.events).toEqual(["Live stopped: The query was interrupted."]);

    let shown = true;
    const gone = loop({ shown: () => shown });
    gone.live.start();
    await vi.advanceTimersByTimeAsync(5_000);
    shown = false;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(gone.live.polls).toBe(1);
    expect(gone.events).toEqual(["Live stopped: the widget is no longer shown."]);
  });
});
