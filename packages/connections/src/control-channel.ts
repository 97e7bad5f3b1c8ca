/**
 * A `BroadcastChannel` that links the handlers of every thread of the process, so that one
 * thread can gather everyone's stats or close idle connections everywhere (something Django's
 * per-thread handler cannot do), and can ask others to give back idle connections when a
 * process-wide budget is short. The channel is unref'd: it never keeps a thread alive.
 * Not part of the public API (`@spool/connections/internal` reaches what others need).
 */
import { BroadcastChannel, threadId } from 'node:worker_threads';
import type { ConnectionAnnouncement } from './child-threads';

const CHANNEL = 'spool:control:v1';

type Message =
  | { type: 'hello'; from: number }
  | { type: 'here'; from: number }
  | { type: 'bye'; from: number }
  | { type: 'request'; id: string; from: number; op: 'stats' | 'closeAll' }
  | { type: 'response'; id: string; from: number; to: number; payload: unknown }
  | { type: 'pressure'; from: number; alias: string }
  | ({ type: 'conn' } & ConnectionAnnouncement);

export interface ControlHandlers {
  stats(): unknown;
  closeAll(): Promise<unknown>;
  pressure(alias: string): void;
  /** A worker announced a server connection it opened or closed (see `child-threads.ts`). */
  announced(announcement: ConnectionAnnouncement): void;
}

export class ControlChannel {
  private readonly channel: BroadcastChannel;
  private readonly peers = new Set<number>();
  private readonly pending = new Map<string, { responses: Map<number, unknown>; done: () => void }>();
  private seq = 0;
  private closed = false;

  constructor(private readonly handlers: ControlHandlers) {
    this.channel = new BroadcastChannel(CHANNEL);
    this.channel.unref();
    this.channel.onmessage = (event: unknown) => this.onMessage((event as { data: Message }).data);
    this.post({ type: 'hello', from: threadId });
  }

  /** Threads known to run a Spool handler (besides this one). */
  knownPeers(): number[] {
    return [...this.peers];
  }

  /** Ask every other thread; resolves with their answers after all known peers replied or `timeoutMs`. */
  request(op: 'stats' | 'closeAll', timeoutMs: number): Promise<Map<number, unknown>> {
    const id = `${threadId}:${++this.seq}`;
    const responses = new Map<number, unknown>();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(responses);
      };
      const timer = setTimeout(finish, timeoutMs);
      this.pending.set(id, {
        responses,
        done: () => {
          if ([...this.peers].every((p) => responses.has(p))) finish();
        },
      });
      this.post({ type: 'request', id, from: threadId, op });
      if (this.peers.size === 0) {
        // Nobody announced itself yet; still give late joiners a moment.
        clearTimeout(timer);
        setTimeout(finish, Math.min(timeoutMs, 25));
      }
    });
  }

  pressure(alias: string): void {
    this.post({ type: 'pressure', from: threadId, alias });
  }

  /** Tell the thread that created this one about a server connection opened or closed here. */
  announce(announcement: Omit<ConnectionAnnouncement, 'from'>): void {
    this.post({ type: 'conn', from: threadId, ...announcement });
  }

  close(): void {
    if (this.closed) return;
    this.post({ type: 'bye', from: threadId });
    this.closed = true;
    this.channel.close();
  }

  private post(msg: Message): void {
    if (this.closed) return;
    try {
      this.channel.postMessage(msg);
    } catch {
      /* channel closed during exit */
    }
  }

  private onMessage(msg: Message): void {
    if (!msg || msg.from === threadId) return;
    switch (msg.type) {
      case 'hello':
        this.peers.add(msg.from);
        this.post({ type: 'here', from: threadId });
        break;
      case 'here':
        this.peers.add(msg.from);
        break;
      case 'bye':
        this.peers.delete(msg.from);
        for (const p of this.pending.values()) p.done();
        break;
      case 'pressure':
        this.handlers.pressure(msg.alias);
        break;
      case 'conn': {
        const { type: _type, ...announcement } = msg;
        this.handlers.announced(announcement);
        break;
      }
      case 'request': {
        this.peers.add(msg.from);
        const reply = (payload: unknown) => this.post({ type: 'response', id: msg.id, from: threadId, to: msg.from, payload });
        if (msg.op === 'stats') reply(this.handlers.stats());
        else void this.handlers.closeAll().then(reply, (err: Error) => reply({ error: err.message }));
        break;
      }
      case 'response': {
        if (msg.to !== threadId) return;
        this.peers.add(msg.from);
        const p = this.pending.get(msg.id);
        if (p) {
          p.responses.set(msg.from, msg.payload);
          p.done();
        }
        break;
      }
    }
  }
}
