/**
 * A `BroadcastChannel` private to one pool, between the pool's thread and its workers: the pool
 * asks its own workers (and only them) for their connection stats, or to close their idle
 * connections (also before the pool terminates them at close()).
 *
 * Workers answer between tasks: the pool runs piscina with `atomics: 'disabled'`, so a worker's
 * event loop keeps turning while it waits for work (piscina's default `Atomics.wait()` would
 * freeze it, and with it idle timeouts, budget pressure and these requests). The channel is
 * unref'd on both sides: it never keeps a thread alive.
 * @internal
 */
import { BroadcastChannel, threadId } from 'node:worker_threads';
import type { SerializedError } from './envelope';

export type PoolOp = 'stats' | 'closeAll';

/**
 * An error a worker raised outside the task it belongs to: thrown from a timer (or an unhandled
 * rejection) after its task had returned, or outside any task.
 */
export interface StrayReport {
  from: number;
  origin: 'uncaughtException' | 'unhandledRejection';
  /** The task whose code raised it (its async context), when known. */
  taskId: number | undefined;
  taskName: string | undefined;
  error: SerializedError;
}

type Message =
  | { t: 'hello'; from: number }
  | ({ t: 'stray' } & StrayReport)
  | { t: 'req'; id: number; op: PoolOp }
  | { t: 'res'; id: number; from: number; ok: true; payload: unknown }
  | { t: 'res'; id: number; from: number; ok: false; error: string };

/** The pool's end. */
export class PoolChannel {
  private readonly channel: BroadcastChannel;
  private readonly pending = new Map<number, { expected: Set<number>; answers: Map<number, unknown>; done: () => void }>();
  private seq = 0;
  private closed = false;

  /** Called when a worker's end of the channel is listening (its entry has loaded). */
  onHello: ((threadId: number) => void) | undefined;
  /** Called when a worker reports an error raised outside its task. */
  onStray: ((report: StrayReport) => void) | undefined;

  constructor(readonly name: string) {
    this.channel = new BroadcastChannel(name);
    this.channel.unref();
    this.channel.onmessage = (event: unknown) => this.onMessage((event as { data: Message }).data);
  }

  /**
   * Ask the workers `threadIds`; resolves with the answers of those that replied within
   * `timeoutMs` (a worker busy in synchronous code cannot answer).
   */
  request(op: PoolOp, threadIds: readonly number[], timeoutMs: number): Promise<Map<number, unknown>> {
    const answers = new Map<number, unknown>();
    if (this.closed || threadIds.length === 0) return Promise.resolve(answers);
    const id = ++this.seq;
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(answers);
      };
      const timer = setTimeout(finish, timeoutMs);
      const expected = new Set(threadIds);
      this.pending.set(id, { expected, answers, done: () => [...expected].every((t) => answers.has(t)) && finish() });
      this.post({ t: 'req', id, op });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.done = () => {};
    this.channel.close();
  }

  private post(msg: Message): void {
    try {
      this.channel.postMessage(msg);
    } catch {
      /* closed */
    }
  }

  private onMessage(msg: Message): void {
    if (msg?.t === 'hello') this.onHello?.(msg.from);
    if (msg?.t === 'stray') {
      const { t: _t, ...report } = msg;
      this.onStray?.(report);
      return;
    }
    if (!msg || msg.t !== 'res') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    p.answers.set(msg.from, msg.ok ? msg.payload : { error: msg.error });
    p.done();
  }
}

/** A worker's end: answers the pool's requests with `handlers`. */
export function servePoolChannel(name: string, handlers: Record<PoolOp, () => unknown>): BroadcastChannel {
  const channel = new BroadcastChannel(name);
  channel.unref();
  channel.onmessage = (event: unknown) => {
    const msg = (event as { data: Message }).data;
    if (!msg || msg.t !== 'req') return;
    const reply = (m: Message) => {
      try {
        channel.postMessage(m);
      } catch {
        /* the pool closed the channel */
      }
    };
    Promise.resolve()
      .then(() => handlers[msg.op]())
      .then(
        (payload) => reply({ t: 'res', id: msg.id, from: threadId, ok: true, payload }),
        (err: unknown) => reply({ t: 'res', id: msg.id, from: threadId, ok: false, error: String((err as Error)?.message ?? err) }),
      );
  };
  // Tell the pool this worker can now answer (requests sent before this would be lost).
  channel.postMessage({ t: 'hello', from: threadId } satisfies Message);
  return channel;
}

/** A worker's end: report an error raised outside its task. */
export function postStray(channel: BroadcastChannel, report: Omit<StrayReport, 'from'>): void {
  try {
    channel.postMessage({ t: 'stray', from: threadId, ...report } satisfies Message);
  } catch {
    /* the pool closed the channel */
  }
}
