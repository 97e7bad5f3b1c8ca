/**
 * A TCP proxy in front of a real server that breaks its connections on demand: the fault
 * injector of the fault suite. Spool connects through it (same server, same database); the test
 * then resets (TCP RST: the client reads ECONNRESET, or EPIPE on write) or silently cuts the
 * sockets of every live connection, as a network fault or a vanished server would.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface FaultProxy {
  /** The local port to connect to. */
  readonly port: number;
  /** Live proxied connections. */
  readonly open: number;
  /** Reset every live connection (both sides get a TCP RST). Resolves once they are gone. */
  reset(): Promise<void>;
  /**
   * Let the next statement through to the server but lose its answer: the first bytes the server
   * sends after this call are dropped and that connection is reset (a COMMIT that committed on the
   * server while its reply was lost on the way back). Resolves once that connection is gone.
   */
  loseNextReply(): Promise<void>;
  /** Refuse new connections (true) or accept them again (false). */
  refuse(refuse: boolean): void;
  close(): Promise<void>;
}

/** Start a proxy on a free local port to `host:port`. */
export async function faultProxy(host: string, port: number): Promise<FaultProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let refusing = false;
  let losing: (() => void) | undefined;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host, port });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (losing !== undefined) {
        const lost = losing;
        losing = undefined;
        pairs.delete(pair);
        let left = 2;
        for (const s of pair) {
          s.once('close', () => --left === 0 && lost());
          s.resetAndDestroy();
        }
        return;
      }
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const local = (server.address() as AddressInfo).port;
  const proxy: FaultProxy = {
    port: local,
    get open() {
      return pairs.size;
    },
    async reset() {
      const closed: Promise<void>[] = [];
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        for (const s of pair) {
          closed.push(new Promise((r) => (s.destroyed ? r() : s.once('close', () => r()))));
          if (!s.destroyed) s.resetAndDestroy();
        }
      }
      await Promise.all(closed);
    },
    loseNextReply() {
      return new Promise<void>((resolve) => {
        losing = resolve;
      });
    },
    refuse(value) {
      refusing = value;
    },
    async close() {
      await proxy.reset();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return proxy;
}
