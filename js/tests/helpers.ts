/** A small fake anywidget model and Arrow bytes built the way the kernel builds them. */
import { TimeUnit, dictionary, float64, int32, tableFromArrays, tableToIPC, timestamp, utf8 } from "@uwdata/flechette";

export const BASE = Date.UTC(2024, 4, 1, 12);

/** n telemetry rows (rows first..first+n of one result); start_timestamp descending by a second, levels
 * cycling through Logfire's; `message` says the row's number. */
export function recordsIPC(n: number, first = 0): Uint8Array {
  const levels = [9, 13, 17, 5, 21, 1, 10];
  const rows = (f: (i: number) => unknown) => Array.from({ length: n }, (_, k) => f(first + k));
  const table = tableFromArrays(
    {
      start_timestamp: rows((i) => BASE - i * 1000),
      level: Int32Array.from(rows((i) => levels[i % levels.length]!) as number[]),
      span_name: rows((i) => `span ${String.fromCharCode(97 + ((i * 7) % 26))}`),
      duration: Float64Array.from(rows((i) => (i % 5) * 0.0125) as number[]),
      attributes: rows((i) => JSON.stringify({ user: { id: i, name: `u${i}` }, ok: true })),
      message: rows((i) => (i === 0 ? `long ${"x".repeat(400)}` : `row ${i}`)),
    },
    {
      types: {
        start_timestamp: timestamp(TimeUnit.MICROSECOND, "UTC"),
        level: int32(),
        span_name: dictionary(utf8()),
        duration: float64(),
      },
    },
  );
  return tableToIPC(table, { format: "stream" })!;
}

type Handler = (...args: unknown[]) => void;

/** The traits of a SQL result for the last 7 days, as the kernel sends them (tests add status and timeline). */
export const RESULT_STATE = {
  query: "SELECT * FROM records",
  language: "SQL",
  min_timestamp: "now-7d",
  max_timestamp: "",
  utc: true,
  local: false,
  revision: 1,
  limit_hint: "",
};

export class FakeModel {
  state: Record<string, unknown>;
  sent: Record<string, unknown>[] = [];
  saves = 0;
  private handlers = new Map<string, Handler[]>();

  constructor(state: Record<string, unknown>) {
    this.state = { ...state };
  }
  get(key: string): unknown {
    return this.state[key];
  }
  set(key: string, value: unknown): void {
    this.state[key] = value;
  }
  on(event: string, fn: Handler): void {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), fn]);
  }
  off(event?: string | null, fn?: Handler | null): void {
    if (!event) return;
    this.handlers.set(event, (this.handlers.get(event) ?? []).filter((h) => h !== fn));
  }
  save_changes(): void {
    this.saves++;
  }
  send(content: Record<string, unknown>): void {
    this.sent.push(content);
  }
  /** The kernel's side: a trait changed. */
  change(key: string, value: unknown): void {
    this.state[key] = value;
    for (const fn of this.handlers.get(`change:${key}`) ?? []) fn();
  }
  /** The kernel's side: a custom message with buffers. */
  reply(msg: Record<string, unknown>, buffers: Uint8Array[] = []): void {
    const views = buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength));
    for (const fn of this.handlers.get("msg:custom") ?? []) fn(msg, views);
  }
  lastRequest(): Record<string, unknown> {
    const last = this.sent.filter((m) => m.type !== "painted").at(-1);
    if (!last) throw new Error("no request sent");
    return last;
  }
}

export function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
