// What a task sees and what run() settles with: a scope per task, errors rebuilt with their class
// and fields, named and ES module exports, atomic tasks, map() semantics, closing.
import { configure, IntegrityError, ProgrammingError, shutdown, sql, scope } from '@spool/connections';
import type { ConnectionCounter } from '@spool/testing';
import { PoolClosedError, TaskTransferError, WorkerPool } from '@spool/workers';
import { eachDatabase } from '../support/helpers';
import { fixture } from './helpers';

eachDatabase('WorkerPool tasks', (db) => {
  let counter: ConnectionCounter | undefined;
  let pool: WorkerPool | undefined;
  beforeAll(async () => {
    await db.setup();
    const role = await db.role('wkt');
    counter = role.counter();
  });
  beforeEach(async () => {
    const role = await db.role('wkt');
    configure({ databases: { default: role.settings({ maxAge: null }) } });
  });
  afterEach(async () => {
    await pool?.close({ deadlineMs: 0 });
    pool = undefined;
    await shutdown();
  });
  afterAll(() => counter?.close());

  test('each task runs in its own scope, named after the run, holding one connection', async () => {
    pool = new WorkerPool({ filename: fixture('named-exports.js'), handler: 'scopeInfo', workers: 2, checkCapacity: false });
    const r = await pool.run({}, { name: 'nightly import' });
    expect(r).toEqual({ kind: 'scope', name: 'nightly import', ctxName: 'nightly import', taskId: 1, sameScope: true, held: 1 });
    const unnamed = (await pool.run({})) as { name: string };
    expect(unnamed.name).toBe('task');
  });

  test('a plain function export still gets a scope per call; run({ handler }) picks the export', async () => {
    pool = new WorkerPool({ filename: fixture('named-exports.js'), handler: 'scopeInfo', workers: 1, checkCapacity: false });
    expect(await pool.run({ n: 4 }, { handler: 'plain' })).toEqual({ n: 4, kind: 'scope', held: 1 });
    const err = await pool.run({}, { handler: 'missing' }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `The worker file '${fixture('named-exports.js')}' has no export 'missing' that is a function. Write: export default task(async (args) => { … }) (or module.exports = task(…)), or pass { handler: 'name' } for a named export.`,
    );
  });

  test('an ES module worker file', async () => {
    pool = new WorkerPool({ filename: new URL(`file://${fixture('esm-task.mjs')}`), workers: 1, checkCapacity: false });
    expect(await pool.run({ n: 7 })).toEqual({ n: 7, esm: true });
  });

  test("a task's error comes back with its class, message, fields and cause", async () => {
    pool = new WorkerPool({ filename: fixture('named-exports.js'), workers: 1, checkCapacity: false });
    const e1 = (await pool.run({}, { handler: 'throwSpoolError' }).catch((e: unknown) => e)) as IntegrityError;
    expect(e1).toBeInstanceOf(IntegrityError);
    expect(IntegrityError.is(e1)).toBe(true);
    expect(e1).toMatchObject({
      name: 'IntegrityError',
      code: 'E_DATABASE',
      sqlState: '23505',
      constraint: 'author_pkey',
      alias: 'default',
    });
    expect(e1.message).toBe('duplicate key value violates unique constraint "author_pkey"');
    expect((e1.cause as Error).message).toBe('driver detail');
    expect(e1.stack).toContain('named-exports.js');
    const e2 = await pool.run({}, { handler: 'throwTypeError' }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(TypeError);
    await expect(pool.run({}, { handler: 'throwString' })).rejects.toBe('a plain string');
    // A database error raised by the server in the worker, converted there, rebuilt here.
    await pool.close();
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 1, checkCapacity: false });
    const e3 = (await pool.run({ i: 3, db: db.name, op: 'sqlError' }).catch((e: unknown) => e)) as ProgrammingError;
    expect(e3).toBeInstanceOf(ProgrammingError);
    expect(e3.message).toMatch(/no_such_table_3/);
    if (db.name === 'postgres') expect(e3.sqlState).toBe('42P01');
    if (db.name === 'mysql') expect(e3.sqlState).toBe('42S02');
  });

  test('arguments or results that cannot cross threads fail the task with TaskTransferError; the pool goes on', async () => {
    pool = new WorkerPool({ filename: fixture('named-exports.js'), handler: 'echo', workers: 1, checkCapacity: false });
    const e1 = await pool.run({ f: () => 1 }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(TaskTransferError);
    expect((e1 as Error).message).toMatch(
      /^Task #1 failed: its arguments or its result cannot be sent between threads \(.*could not be cloned.*\)\./,
    );
    const before = pool.threads[0]?.threadId;
    const e2 = await pool.run({}, { handler: 'badResult' }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(TaskTransferError);
    expect((e2 as Error).message).toBe(
      'Task #2 failed: its arguments or its result cannot be sent between threads (the task returned a function). Pass and return plain data (structured-cloneable: no functions, class instances keep only their fields).',
    );
    expect(await pool.run({ back: 1 })).toEqual({ back: 1 });
    expect(pool.threads[0]?.threadId).toBe(before); // the worker survived
  });

  test('task(fn, { atomic: true }) commits when the task returns and rolls back when it throws', async () => {
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS wk_atomic`;
      await sql`CREATE TABLE wk_atomic (id INTEGER PRIMARY KEY)`;
    });
    pool = new WorkerPool({ filename: fixture('atomic-task.js'), workers: 2, checkCapacity: false });
    expect(await pool.run({ id: 1 })).toBe(1);
    await expect(pool.run({ id: 2, fail: true })).rejects.toThrow('task 2 fails after its insert');
    const rows = await scope(() => sql<{ id: number }>`SELECT id FROM wk_atomic ORDER BY id`);
    expect(rows.map((r) => Number(r.id))).toEqual([1]);
    await scope(() => sql`DROP TABLE wk_atomic`);
  });

  test('map() yields results as they complete, reads an async iterable lazily, and throws the first failure', async () => {
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 2, checkCapacity: false });
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 6; i++) {
        pulled += 1;
        yield { i, db: db.name, ms: i === 0 ? 800 : 0 };
      }
    }
    const order: number[] = [];
    for await (const r of pool.map(source(), { concurrency: 2 }) as AsyncGenerator<{ i: number }>) {
      order.push(r.i);
      expect(pulled).toBeLessThanOrEqual(order.length + 2);
    }
    expect(order[0]).not.toBe(0); // the slow first item did not hold back the others
    expect([...order].sort()).toEqual([0, 1, 2, 3, 4, 5]);

    const items = [
      { i: 0, db: db.name },
      { i: 1, db: db.name, op: 'throw' },
      { i: 2, db: db.name },
    ];
    const seen: number[] = [];
    const err = await (async () => {
      for await (const r of pool.map(items, { concurrency: 1 }) as AsyncGenerator<{ i: number }>) seen.push(r.i);
    })().catch((e: unknown) => e);
    expect((err as Error).message).toBe('task 1 failed on purpose');
    expect(seen).toEqual([0]);

    const settled = [];
    for await (const o of pool.map(items, { settled: true })) settled.push(o);
    expect(settled.map((o) => [o.index, o.ok]).sort()).toEqual([
      [0, true],
      [1, false],
      [2, true],
    ]);
  });

  test('leaving map() early starts no new tasks', async () => {
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 1, checkCapacity: false });
    const items = Array.from({ length: 50 }, (_, i) => ({ i, db: db.name }));
    for await (const r of pool.map(items, { concurrency: 2 }) as AsyncGenerator<{ i: number }>) {
      if (r.i >= 0) break;
    }
    const stats = await pool.stats();
    expect(stats.tasks.completed + stats.tasks.running + stats.tasks.queued).toBeLessThanOrEqual(2);
  });

  test('close(): queued tasks still run, later ones are refused; cancelPending fails the queued ones', async () => {
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 1, checkCapacity: false, name: 'imports' });
    const queued = Array.from({ length: 4 }, (_, i) => pool!.run({ i, db: db.name, ms: 20 }));
    const closing = pool.close();
    await expect(pool.run({ i: 9, db: db.name })).rejects.toThrow(
      "WorkerPool 'imports' is closed (or closing): it accepts no new tasks. Create a new pool, or run the task before close().",
    );
    expect((await Promise.all(queued)).map((r) => (r as { i: number }).i)).toEqual([0, 1, 2, 3]);
    expect((await closing).tasks.completed).toBe(4);
    expect(await counter!.waitForCount(0, 2000)).toBe(0);

    const second = new WorkerPool({ filename: fixture('query-task.js'), workers: 1, checkCapacity: false });
    const outcomes = Array.from({ length: 4 }, (_, i) =>
      second.run({ i, db: db.name, ms: 50 }).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );
    const report = await second.close({ cancelPending: true });
    const results = await Promise.all(outcomes);
    expect(results[0]).toBe('ok');
    expect(results.slice(1).every((r) => r instanceof PoolClosedError)).toBe(true);
    expect((results[1] as Error).message).toBe(
      'Task #2 did not run: The WorkerPool was closed before it started (close() with cancelPending, or its deadline passed).',
    );
    expect(report).toMatchObject({ cancelled: 3, forced: 0 });
  });

  test('close({ deadlineMs }): a task still running at the deadline fails with PoolClosedError; count 0 right after', async () => {
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 1, checkCapacity: false });
    const running = pool.run({ db: db.name, op: 'hang' }).catch((e: unknown) => e);
    expect(await counter!.waitForCount(1, 5000)).toBe(1);
    const report = await pool.close({ deadlineMs: 200 });
    expect(report.forced).toBe(1);
    const err = await running;
    expect(err).toBeInstanceOf(PoolClosedError);
    expect((err as Error).message).toBe(
      'Task #1 was still running when The WorkerPool reached its close() deadline of 200 ms: its worker was terminated and its connections closed.',
    );
    expect(await counter!.waitForCount(0, 2000)).toBe(0);
  });
});
