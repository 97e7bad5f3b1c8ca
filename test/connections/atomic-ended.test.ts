// A statement whose async context belongs to an atomic() block that has ended (committed, rolled
// back, or abandoned with its scope) is refused with AtomicBlockEndedError and never runs on the
// connection in autocommit, where it would commit on its own (the README, "Atomic blocks"). What
// was committed is read back from another connection after Spool has shut down: the server's view.
import {
  atomic,
  AtomicBlockEndedError,
  scope,
  shutdown,
  sql,
  TransactionManagementError,
  type DatabaseSettings,
  type PinMode,
} from '@spool/connections';
import { configureFor, eachDatabase, latch, sleep, useDatabase } from '../support/helpers';

class Boom extends Error {}

eachDatabase('statements from an ended atomic block', { pgbouncer: true }, (db) => {
  const counter = useDatabase(db);
  const insert = (name: string) => sql`INSERT INTO spool_late (name) VALUES (${name})`;
  /** ~50 ms on the server (SQLite runs statements synchronously: there it is over at once). */
  const slowStatement = (): Promise<unknown> =>
    (db.name === 'postgres' ? sql`SELECT pg_sleep(0.05)` : db.name === 'mysql' ? sql`SELECT SLEEP(0.05)` : sql`SELECT 1 AS one`).rows();
  /** The rows the server has committed, read over a fresh connection once Spool has shut down. */
  const committed = async (): Promise<string[]> => {
    await shutdown();
    configureFor(db);
    const rows = await scope(() => sql<{ name: string }>`SELECT name FROM spool_late ORDER BY name`);
    await shutdown();
    return rows.map((r) => r.name);
  };

  beforeAll(async () => {
    configureFor(db);
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_late`;
      await sql`CREATE TABLE spool_late (name VARCHAR(50) PRIMARY KEY)`;
    });
    await shutdown();
  });
  beforeEach(async () => {
    configureFor(db);
    await scope(() => sql`DELETE FROM spool_late`);
    await shutdown();
  });

  const pins: Array<[PinMode, Partial<DatabaseSettings>]> = [
    ['scope', {}],
    ['transaction', { pin: 'transaction' }],
  ];

  describe.each(pins)('pin: %s', (_pin, overrides) => {
    test('after a rollback: the late INSERT is refused, nothing is committed', async () => {
      configureFor(db, overrides);
      let late!: Promise<unknown>;
      await scope(async () => {
        await expect(
          atomic(async () => {
            await insert('inside');
            // Issued from the block, but only once the block has rolled back (a forgotten await).
            late = sleep(30).then(() => insert('late'));
            late.catch(() => undefined);
            throw new Boom();
          }),
        ).rejects.toBeInstanceOf(Boom);
        const err = await late.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(AtomicBlockEndedError.is(err)).toBe(true);
        expect(TransactionManagementError.is(err)).toBe(true);
        expect((err as AtomicBlockEndedError).code).toBe('E_ATOMIC_ENDED');
        expect((err as Error).message).toMatch(
          /^A statement on 'default' was issued from an atomic block that has already ended \(rolled back\) in Scope #\d+: it was refused, rather than run outside the transaction where it would commit on its own\. Await every query inside its atomic\(\) block\.$/,
        );
        // The scope itself goes on: a statement outside the block runs (and commits) as usual.
        await insert('after');
      });
      expect(await committed()).toEqual(['after']);
    });

    test('after a commit: the late INSERT is refused rather than committed on its own', async () => {
      configureFor(db, overrides);
      let late!: Promise<unknown>;
      await scope(async () => {
        await atomic(async () => {
          await insert('inside');
          late = sleep(30).then(() => insert('late'));
          late.catch(() => undefined);
        });
        await expect(late).rejects.toThrow(/already ended \(committed\)/);
      });
      expect(await committed()).toEqual(['inside']);
    });

    test('a nested block rolled back to its savepoint: its late INSERT does not join the outer transaction', async () => {
      configureFor(db, overrides);
      let late!: Promise<unknown>;
      await scope(async () => {
        await atomic(async () => {
          await insert('outer');
          await expect(
            atomic(async () => {
              await insert('inner');
              late = sleep(30).then(() => insert('late'));
              late.catch(() => undefined);
              throw new Boom();
            }),
          ).rejects.toBeInstanceOf(Boom);
          await expect(late).rejects.toThrow(/already ended \(rolled back\)/);
          await insert('outer-2');
        });
      });
      expect(await committed()).toEqual(['outer', 'outer-2']);
    });
  });

  test('a statement queued at the gate while its block commits is refused when its turn comes', async () => {
    configureFor(db);
    let late!: Promise<unknown>;
    const slow = latch();
    await scope(async () => {
      await atomic(async () => {
        await insert('inside');
        // Not awaited: still running when the block returns, so COMMIT queues behind it, and the
        // INSERT chained on it is issued once COMMIT holds the gate.
        const running = slowStatement();
        late = running.then(() => insert('late'));
        late.catch(() => undefined);
        void running.finally(slow.fire);
      });
      await slow.fired;
      await expect(late).rejects.toBeInstanceOf(AtomicBlockEndedError);
    });
    expect(await committed()).toEqual(['inside']);
  });

  test('atomic() opened from an ended block is refused too (it would start an unrelated transaction)', async () => {
    configureFor(db);
    let late!: Promise<unknown>;
    await scope(async () => {
      await atomic(async () => {
        late = sleep(30).then(() => atomic(() => insert('late')));
        late.catch(() => undefined);
      });
      await expect(late).rejects.toBeInstanceOf(AtomicBlockEndedError);
    });
    expect(await committed()).toEqual([]);
  });

  test('a block on another alias does not refuse statements on this one', async () => {
    configureFor(db, {}, { other: db.settings() });
    let late!: Promise<unknown>;
    await scope(async () => {
      await atomic(
        async () => {
          late = sleep(30).then(() => insert('default-late'));
        },
        { using: 'other' },
      );
      await late;
    });
    expect(await committed()).toEqual(['default-late']);
    expect(await counter.waitForCount(0)).toBe(0);
  });
});
