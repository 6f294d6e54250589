/**
 * Requests to the kernel over the widget's custom messages, answered with the same id (as quak does).
 * Replies carry Arrow IPC as binary buffers. A failure comes back as a reply with `ok: false`, so no promise
 * hangs; a reply to a superseded request is recognised by `isLatest` and dropped by the caller.
 */
import type { AnyModel } from "@anywidget/types";

export interface Reply {
  msg: Record<string, unknown>;
  buffers: DataView[];
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

export class Rpc {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly latest = new Map<string, number>();
  private readonly model: AnyModel;
  private readonly onMessage = (msg: unknown, buffers: DataView[] = []): void => {
    if (!msg || typeof msg !== "object") return;
    const m = msg as Record<string, unknown>;
    if (m.type !== "reply" || typeof m.id !== "number") return;
    const entry = this.pending.get(m.id);
    if (!entry) return;
    this.pending.delete(m.id);
    if (m.ok === false) entry.reject(new Error(String(m.error ?? "The kernel could not answer.")));
    else entry.resolve({ msg: m, buffers });
  };

  constructor(model: AnyModel) {
    this.model = model;
    model.on("msg:custom", this.onMessage);
  }

  /** Sends `{type: "request", id, kind, ...params}` and resolves with the reply of the same id. */
  request(kind: string, params: Record<string, unknown> = {}): Promise<Reply> & { id: number } {
    const id = this.nextId++;
    this.latest.set(kind, id);
    const promise = new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.model.send({ type: "request", id, kind, ...params });
    });
    return Object.assign(promise, { id });
  }

  /** True while no newer request of the same kind was made. */
  isLatest(kind: string, id: number): boolean {
    return this.latest.get(kind) === id;
  }

  dispose(): void {
    this.model.off("msg:custom", this.onMessage);
    for (const entry of this.pending.values()) entry.reject(new Error("The widget was closed."));
    this.pending.clear();
  }
}
