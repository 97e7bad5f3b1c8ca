// The fault matrix, part 1 (issue 13): transaction control itself fails. BEGIN, COMMIT, ROLLBACK,
// SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK TO SAVEPOINT each meet a backend killed by the
// administrator and a dropped socket (a TCP proxy resets it), the way open bugs of other ORMs
// report them (Drizzle #6241, Kysely #1990). For each: the caller gets an error (nothing is lost
// silently), no onCommit hook runs for the rolled-back transaction, the row written is not there,
// every wait ends within its bound, the broken connection is discarded (the next scope works on a
// fresh one) and the server-side count returns to 0. A statement timeout (inside the block, or
// of COMMIT itself) fails the block but not the connection. A COMMIT that reached the server
// and lost its answer is reported as CommitOutcomeUnknownError, never as a rollback.
import {
  atomic,
  CommitOutcomeUnknownError,
  connections,
  IntegrityError,
  onCommit,
  OperationalError,
  scope,
  sql,
  type DatabaseSettings,
} from '@spool/connections';
import type { TestDatabase } from '@spool/testing';
import { faultProxy, type FaultProxy } from '../support/fault-proxy';
import { backendId, eachDatabase, eventually, useDatabase } from '../support/helpers';

class Boom extends Error {}

/** Every wait ends within its bound: fail the test instead of hanging when it does not. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

const settle = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => 'resolved',
    (e: unknown) => e,
  );

type Injector = 'killed backend' | 'dropped socket';
type Point = 'BEGIN' | 'COMMIT' | 'ROLLBACK' | 'SAVEPOINT' | 'RELEASE SAVEPOINT' | 'ROLLBACK TO SAVEPOINT';
const POINTS: Point[] = ['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE SAVEPOINT', 'ROLLBACK TO SAVEPOINT'];
const INJECTORS: Injector[] = ['killed backend', 'dropped socket'];

eachDatabase('fault matrix: transaction control fails', (db) => {
  if (!db.hasServer) {
    test('SQLite has no server to lose: its transaction control cannot be cut off', () => {});
    return;
  }
  const counter = useDatabase(db);
  let proxy: FaultProxy;

  beforeAll(async () => {
    connections.configure({ databases: { default: db.settings() } });
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS fault_tx`;
      await sql`CREATE TABLE fault_tx (id INTEGER PRIMARY KEY, note VARCHAR(40))`;
    });
    await connections.shutdown();
  });
  beforeEach(async () => {
    const c = db.settings().connection as { host: string; port: number };
    proxy = await faultProxy(c.host, c.port);
  });
  afterEach(() => proxy.close());

  /** Settings through the proxy, connections kept between scopes (where a broken one would do harm). */
  function through(d: TestDatabase): DatabaseSettings {
    const s = d.settings({ maxAge: null });
    return { ...s, connection: { ...(s.connection as Record<string, unknown>), host: '127.0.0.1', port: proxy.port } };
  }

  /** Break this scope's connection now, and wait until the server has let it go. */
  async function inject(how: Injector): Promise<void> {
    const pid = await backendId(db);
    if (how === 'killed backend') await counter.terminate(pid);
    else await proxy.reset();
    expect(await eventually(async () => !(await counter.serverIds()).includes(pid), 5000, 10)).toBe(true);
  }

  for (const how of INJECTORS) {
    for (const point of POINTS) {
      test(`${point} fails (${how}): an error, no hook, no row, a fresh connection next, count 0`, async () => {
        connections.configure({ databases: { default: through(db) } });
        const id = POINTS.indexOf(point) + 1 + (how === 'killed backend' ? 0 : 10);
        await scope(() => sql`DELETE FROM fault_tx WHERE id = ${id}`);
        const hooks: string[] = [];
        let bodyRan = false;
        const insert = () => sql`INSERT INTO fault_tx (id, note) VALUES (${id}, ${point})`;
        const outcome = await within(
          settle(
            scope(async () => {
              await sql`SELECT 1`;
              switch (point) {
                case 'BEGIN':
                  await inject(how);
                  return atomic(async () => {
                    bodyRan = true;
                    await insert();
                  });
                case 'COMMIT':
                  return atomic(async () => {
                    await insert();
                    await onCommit(() => void hooks.push('outer'));
                    await inject(how);
                  });
                case 'ROLLBACK':
                  return atomic(async () => {
                    await insert();
                    await onCommit(() => void hooks.push('outer'));
                    await inject(how);
                    throw new Boom('the block failed');
                  });
                case 'SAVEPOINT':
                  return atomic(async () => {
                    await insert();
                    await onCommit(() => void hooks.push('outer'));
                    await inject(how);
                    await atomic(async () => {
                      bodyRan = true;
                    });
                  });
                case 'RELEASE SAVEPOINT':
                  return atomic(async () => {
                    await insert();
                    await onCommit(() => void hooks.push('outer'));
                    await atomic(async () => {
                      await onCommit(() => void hooks.push('inner'));
                      await inject(how);
                    });
                  });
                case 'ROLLBACK TO SAVEPOINT':
                  return atomic(async () => {
                    await insert();
                    await onCommit(() => void hooks.push('outer'));
                    await atomic(async () => {
                      await onCommit(() => void hooks.push('inner'));
                      await inject(how);
                      throw new Boom('the inner block failed');
                    });
                  });
              }
            }),
          ),
          10_000,
          `the scope whose ${point} failed`,
        );
        // The caller knows: the block's own error when it threw, else the connection's.
        expect(outcome).toBeInstanceOf(Error);
        if (point === 'ROLLBACK' || point === 'ROLLBACK TO SAVEPOINT') expect(outcome).toBeInstanceOf(Boom);
        // A COMMIT sent before the client read of the loss (the kill's FATAL still unread on the
        // socket) cannot tell the server's rollback from a commit whose answer was lost: it may say
        // so (an OperationalError too), never that it committed.
        else if (point === 'COMMIT')
          expect((outcome as Error).name).toMatch(/^(OperationalError|InterfaceError|CommitOutcomeUnknownError)$/);
        else expect((outcome as Error).name).toMatch(/^(OperationalError|InterfaceError)$/);
        expect(hooks).toEqual([]);
        expect(bodyRan).toBe(false);
        // The broken connection was discarded at scope end; the next scope gets a fresh one.
        expect(connections.stats().aliases.default).toMatchObject({ open: 0, leased: 0 });
        const rows = await within(
          scope(() => sql`SELECT id FROM fault_tx WHERE id = ${id}`),
          10_000,
          'the next scope',
        );
        expect(rows).toEqual([]);
        await connections.closeAll();
        expect(await counter.waitForCount(0, 5000)).toBe(0);
      });
    }
  }

  test('a statement timeout inside a block: the block rolls back and rejects, no hook, and the connection (not broken) serves the next scope', async () => {
    connections.configure({ databases: { default: db.settings({ maxAge: null }) } });
    await scope(() => sql`DELETE FROM fault_tx WHERE id = 50`);
    const hooks: string[] = [];
    const timeoutSql = db.name === 'postgres' ? 'SELECT pg_sleep(3)' : 'SET STATEMENT max_statement_time = 0.2 FOR SELECT SLEEP(3)';
    const result = await scope(async () => {
      const pid = await backendId(db);
      const err = await within(
        settle(
          atomic(async () => {
            await sql`INSERT INTO fault_tx (id, note) VALUES (50, 'timeout')`;
            await onCommit(() => void hooks.push('outer'));
            if (db.name === 'postgres') await connections.query('default', 'SET LOCAL statement_timeout = 200', []);
            await connections.query('default', timeoutSql, []);
          }),
        ),
        5000,
        'the block with a statement timeout',
      );
      return { pid, err };
    });
    expect(result.err).toBeInstanceOf(OperationalError);
    expect((result.err as OperationalError).vendorCode).toBe(db.name === 'postgres' ? '57014' : 1969);
    expect(hooks).toEqual([]);
    // Not a connection-level error: the same connection serves the next scope, outside any transaction.
    const next = await scope(async () => ({ pid: await backendId(db), rows: await sql`SELECT id FROM fault_tx WHERE id = 50` }));
    expect(next).toEqual({ pid: result.pid, rows: [] });
  });

  if (db.name === 'postgres') {
    test('COMMIT itself fails (a deferred constraint): IntegrityError, no hook, no row, the connection goes on', async () => {
      connections.configure({ databases: { default: db.settings({ maxAge: null }) } });
      await scope(async () => {
        await sql`DROP TABLE IF EXISTS fault_deferred`;
        await connections.query(
          'default',
          'CREATE TABLE fault_deferred (id INTEGER PRIMARY KEY, code INTEGER, CONSTRAINT fault_deferred_code UNIQUE (code) DEFERRABLE INITIALLY DEFERRED)',
          [],
        );
      });
      const hooks: string[] = [];
      const result = await scope(async () => {
        const pid = await backendId(db);
        const err = await within(
          settle(
            atomic(async () => {
              await sql`INSERT INTO fault_deferred (id, code) VALUES (1, 7), (2, 7)`;
              await onCommit(() => void hooks.push('outer'));
            }),
          ),
          5000,
          'the block whose COMMIT fails',
        );
        return { pid, err };
      });
      expect(result.err).toBeInstanceOf(IntegrityError);
      expect(result.err).toMatchObject({ sqlState: '23505', constraint: 'fault_deferred_code', sql: 'COMMIT' });
      expect(hooks).toEqual([]);
      const next = await scope(async () => ({ pid: await backendId(db), rows: await sql`SELECT id FROM fault_deferred` }));
      expect(next).toEqual({ pid: result.pid, rows: [] });
    });

    test('the server ends a block idle past idle_in_transaction_session_timeout (FATAL 25P03): COMMIT fails, no hook, the connection is discarded', async () => {
      connections.configure({ databases: { default: db.settings({ maxAge: null }) } });
      const hooks: string[] = [];
      const result = await scope(async () => {
        const pid = await backendId(db);
        const err = await within(
          settle(
            atomic(async () => {
              await connections.query('default', 'SET LOCAL idle_in_transaction_session_timeout = 200', []);
              await sql`INSERT INTO fault_tx (id, note) VALUES (51, 'idle')`;
              await onCommit(() => void hooks.push('outer'));
              // The block waits on something else (another service) for longer than the server allows.
              expect(await eventually(async () => !(await counter.serverIds()).includes(pid), 5000, 25)).toBe(true);
            }),
          ),
          5000,
          'the block the server ended',
        );
        return { pid, err };
      });
      expect((result.err as Error).name).toMatch(/^(OperationalError|InterfaceError)$/);
      expect(hooks).toEqual([]);
      expect(connections.stats().aliases.default).toMatchObject({ open: 0 });
      const next = await scope(async () => ({ pid: await backendId(db), rows: await sql`SELECT id FROM fault_tx WHERE id = 51` }));
      expect(next.pid).not.toBe(result.pid);
      expect(next.rows).toEqual([]);
    });
  }

  test('COMMIT reaches the server and its answer is lost with the socket: CommitOutcomeUnknownError (not "rolled back"), no hook, the row is there, count 0', async () => {
    connections.configure({ databases: { default: through(db) } });
    await scope(() => sql`DELETE FROM fault_tx WHERE id = 98`);
    const hooks: string[] = [];
    let lost: Promise<void> | undefined;
    const outcome = await within(
      settle(
        scope(() =>
          atomic(async () => {
            await sql`INSERT INTO fault_tx (id, note) VALUES (98, 'committed, answer lost')`;
            await onCommit(() => void hooks.push('outer'));
            // The next statement is the COMMIT: the server runs it, its reply is dropped.
            lost = proxy.loseNextReply();
          }),
        ),
      ),
      10_000,
      'the block whose COMMIT answer was lost',
    );
    await within(lost as Promise<void>, 5000, 'the lost reply');
    expect(outcome).toBeInstanceOf(CommitOutcomeUnknownError);
    expect(outcome).toBeInstanceOf(OperationalError);
    expect(outcome).toMatchObject({
      name: 'CommitOutcomeUnknownError',
      code: 'E_COMMIT_OUTCOME_UNKNOWN',
      commitOutcomeUnknown: true,
      alias: 'default',
      sql: 'COMMIT',
    });
    expect((outcome as Error).message).toMatch(
      /^The COMMIT of the atomic block on 'default' lost its connection before the server answered \(.+\): the transaction may have been committed or rolled back, and the client cannot tell which\. Its onCommit hooks did not run\. Check the data before doing the work again\.$/,
    );
    expect(hooks).toEqual([]);
    // The server did commit: the error must not have said otherwise.
    expect(await scope(() => sql`SELECT id, note FROM fault_tx WHERE id = 98`)).toEqual([{ id: 98, note: 'committed, answer lost' }]);
    await connections.closeAll();
    expect(await counter.waitForCount(0, 5000)).toBe(0);
  });

  test('an outer block that caught the failure of a nested one, after its connection died, does not resolve as if it committed', async () => {
    connections.configure({ databases: { default: through(db) } });
    await scope(() => sql`DELETE FROM fault_tx WHERE id = 99`);
    const hooks: string[] = [];
    const outcome = await within(
      settle(
        scope(() =>
          atomic(async () => {
            await sql`INSERT INTO fault_tx (id, note) VALUES (99, 'outer')`;
            await onCommit(() => void hooks.push('outer'));
            await atomic(async () => {
              await inject('killed backend');
              throw new Boom('inner');
            }).catch(() => 'swallowed');
            return 'done';
          }),
        ),
      ),
      10_000,
      'the outer block',
    );
    expect(outcome).toBeInstanceOf(OperationalError);
    expect((outcome as Error).message).toMatch(
      /^The atomic block on 'default' did not commit: its connection was lost inside it \(.+\), and the server rolled the transaction back\. Its onCommit hooks were dropped\. Run the block again in a new scope\.$/,
    );
    expect(hooks).toEqual([]);
    expect(await scope(() => sql`SELECT id FROM fault_tx WHERE id = 99`)).toEqual([]);
  });
});
