import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Data, decode } from "../src/arrow";
import { BLOCK, MARGIN, MAX_CACHED_ROWS, PLACEHOLDER, RowWindows, SETTLE_MS, type WindowRequest } from "../src/window";
import { recordsIPC } from "./helpers";

const MESSAGE = 5; // the `message` column says "row N"

interface Asked {
  request: WindowRequest;
  answer: (data: Data | null) => Promise<void>;
  fail: (message: string) => Promise<void>;
}

/** Lets the reply's promise chain run to its end. */
async function settled(): Promise<void> {
  for (let i = 0; i < 6; i++) await Promise.resolve();
}

/** A kernel that answers only when the test says so. */
function kernel(): { asked: Asked[]; windows: RowWindows; loads: () => number; errors: string[] } {
  const asked: Asked[] = [];
  let loads = 0;
  const errors: string[] = [];
  const windows = new RowWindows(
    (request) =>
      new Promise<Data | null>((resolve, reject) => {
        asked.push({
          request,
          answer: async (data) => {
            resolve(data);
            await settled();
          },
          fail: async (message) => {
            reject(new Error(message));
            await settled();
          },
        });
      }),
    () => loads++,
    (message) => errors.push(message),
  );
  return { asked, windows, loads: () => loads, errors };
}

function rowsOf(request: WindowRequest): Data {
  return decode(recordsIPC(request.count, request.offset));
}

const head = decode(recordsIPC(200));

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("rows by window", () => {
  it("shows the head at once and asks nothing while the screen stays within it", () => {
    const { asked, windows } = kernel();
    windows.reset(1, 100_000, head, null);
    windows.show(0, 40);
    expect(windows.cell(0, MESSAGE)).toMatch(/^long /);
    expect(windows.cell(39, MESSAGE)).toBe("row 39");
    expect(asked).toHaveLength(0);
  });

  it("shows placeholders until the window arrives, in one request for the screen and its margin", async () => {
    const { asked, windows, loads } = kernel();
    windows.reset(1, 100_000, head, null);
    windows.show(0, 40);
    windows.show(5, 45); // scrolled a little: still nothing missing near the screen
    windows.show(50_000, 50_040); // a jump to the middle
    expect(windows.cell(50_000, MESSAGE)).toBe(PLACEHOLDER);
    expect(asked).toHaveLength(0); // a jump waits for the scrolling to stop
    vi.advanceTimersByTime(SETTLE_MS);
    expect(asked).toHaveLength(1);
    const { request } = asked[0]!;
    expect(request.revision).toBe(1);
    expect(request.sort).toBeNull();
    expect(request.offset).toBeLessThanOrEqual(50_000 - MARGIN);
    expect(request.offset + request.count).toBeGreaterThanOrEqual(50_040 + MARGIN);
    expect(request.offset % BLOCK).toBe(0);
    await asked[0]!.answer(rowsOf(request));
    expect(loads()).toBe(1);
    expect(windows.cell(50_000, MESSAGE)).toBe("row 50000");
    expect(windows.cell(50_039, MESSAGE)).toBe("row 50039");
  });

  it("asks only where a fast scrollbar drag stops", async () => {
    const { asked, windows } = kernel();
    windows.reset(1, 1_000_000, head, null);
    windows.show(0, 40);
    for (let row = 10_000; row <= 700_000; row += 10_000) {
      windows.show(row, row + 40);
      vi.advanceTimersByTime(16); // one frame per scroll event while dragging
    }
    expect(asked).toHaveLength(0);
    vi.advanceTimersByTime(SETTLE_MS);
    expect(asked).toHaveLength(1);
    const { request } = asked[0]!;
    expect(request.offset).toBeLessThanOrEqual(700_000);
    expect(request.offset + request.count).toBeGreaterThanOrEqual(700_040);
    expect(request.count).toBeLessThan(1_000);
  });

  it("asks nothing mid-drag when a window asked during a pause lands, only where the drag stops", async () => {
    const { asked, windows } = kernel();
    windows.reset(1, 1_000_000, head, null);
    windows.show(0, 40);
    windows.show(100_000, 100_040);
    vi.advanceTimersByTime(SETTLE_MS); // the drag paused: its rows are asked
    expect(asked).toHaveLength(1);
    windows.show(200_000, 200_040); // the drag goes on
    vi.advanceTimersByTime(16);
    await asked[0]!.answer(rowsOf(asked[0]!.request));
    windows.show(200_000, 200_040); // the landed window redraws the screen, still mid-drag
    expect(asked).toHaveLength(1);
    windows.show(300_000, 300_040);
    vi.advanceTimersByTime(SETTLE_MS);
    expect(asked).toHaveLength(2);
    expect(asked[1]!.request.offset).toBeLessThanOrEqual(300_000);
    expect(asked[1]!.request.offset + asked[1]!.request.count).toBeGreaterThanOrEqual(300_040);
  });

  it("sends one request at a time and then asks for where the user is by then", async () => {
    const { asked, windows } = kernel();
    windows.reset(1, 100_000, head, null);
    windows.show(150, 190); // near the head's end: the margin is missing, asked at once (no jump)
    expect(asked).toHaveLength(1);
    for (let row = 170; row <= 260; row += 30) windows.show(row, row + 40); // wheel scrolling
    expect(asked).toHaveLength(1);
    expect(windows.cell(240, MESSAGE)).toBe(PLACEHOLDER);
    await asked[0]!.answer(rowsOf(asked[0]!.request));
    expect(windows.cell(240, MESSAGE)).toBe("row 240");
    expect(asked).toHaveLength(2);
    expect(asked[1]!.request.offset).toBeGreaterThanOrEqual(asked[0]!.request.offset + asked[0]!.request.count);
    expect(asked[1]!.request.offset + asked[1]!.request.count).toBeGreaterThanOrEqual(300 + MARGIN);
  });

  it("asks the kernel for the sorted order and drops a window of the order it replaced", async () => {
    const { asked, windows } = kernel();
    windows.reset(1, 100_000, head, null);
    windows.show(5_000, 5_040);
    vi.advanceTimersByTime(SETTLE_MS);
    expect(asked).toHaveLength(1);
    windows.setSort({ column: "span_name", direction: "desc" });
    // The head is the unsorted first rows: after a sort nothing is known until the kernel answers.
    expect(windows.cell(0, MESSAGE)).toBe(PLACEHOLDER);
    windows.show(0, 40);
    await asked[0]!.answer(rowsOf(asked[0]!.request)); // the unsorted window lands late
    expect(windows.cell(5_000, MESSAGE)).toBe(PLACEHOLDER);
    expect(asked).toHaveLength(2);
    expect(asked[1]!.request).toMatchObject({ offset: 0, sort: { column: "span_name", direction: "desc" } });
    await asked[1]!.answer(decode(recordsIPC(asked[1]!.request.count, 90_000)));
    expect(windows.cell(0, MESSAGE)).toBe("row 90000");
  });

  it("keeps placeholders for a window of a replaced result and asks again for the new one", async () => {
    const { asked, windows } = kernel();
    windows.reset(1, 100_000, head, null);
    windows.show(150, 190);
    expect(asked).toHaveLength(1);
    windows.reset(2, 50_000, head, null); // a newer result arrived meanwhile
    windows.show(150, 190);
    await asked[0]!.answer(null); // the kernel says: stale
    expect(asked).toHaveLength(2);
    expect(asked[1]!.request.revision).toBe(2);
  });

  it("holds a bounded number of rows however far one scrolls", async () => {
    const { asked, windows } = kernel();
    windows.reset(1, 1_000_000, head, null);
    for (let row = 0; row < 20_000; row += 40) {
      windows.show(row, row + 40);
      const pending = asked.at(-1);
      if (pending && !("done" in pending.request)) {
        Object.assign(pending.request, { done: true });
        await pending.answer(rowsOf(pending.request));
      }
    }
    expect(asked.length).toBeGreaterThan(20);
    expect(windows.cachedRows).toBeLessThanOrEqual(MAX_CACHED_ROWS);
    expect(windows.cell(19_990, MESSAGE)).toBe("row 19990");
    expect(windows.cell(0, MESSAGE)).toBe(PLACEHOLDER); // the head went first, long ago
  });

  it("never asks for a result that came whole", () => {
    const { asked, windows } = kernel();
    windows.reset(1, 200, head, null);
    expect(windows.whole).toBe(true);
    windows.show(150, 200);
    windows.setSort({ column: "level", direction: "asc" });
    expect(windows.cell(199, MESSAGE)).toBe("row 199");
    expect(asked).toHaveLength(0);
  });

  it("reports a failed window in one sentence and asks again when the user moves", async () => {
    const { asked, windows, errors } = kernel();
    windows.reset(1, 100_000, head, null);
    windows.show(150, 190);
    await asked[0]!.fail("The widget failed: boom.");
    expect(errors).toEqual(["The widget failed: boom."]);
    windows.show(160, 200);
    expect(asked).toHaveLength(2);
  });
});
