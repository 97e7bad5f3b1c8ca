/**
 * Django's `TestCase` for jest: each test runs in its own scope, inside a transaction that is
 * rolled back when the test ends, so tests never see each other's rows and need no clean-up.
 * `atomic()` inside a test nests (savepoints), so the code under test behaves as in production up
 * to the final COMMIT, which never happens: use `captureOnCommitCallbacks()` to see (and run) the
 * `onCommit` hooks it registered.
 *
 * ### Examples
 * ```ts
 * import { transactionalTest as test, captureOnCommitCallbacks, assertNumQueries } from '@spool/testing';
 *
 * test('placing an order takes the stock', async () => {
 *   const { callbacks } = await captureOnCommitCallbacks(() => placeOrder(42));
 *   expect(callbacks).toHaveLength(1);          // the confirmation job, queued after COMMIT
 *   await assertNumQueries(1, () => Product.objects.get({ id: 42 }));
 * }); // everything rolled back here
 * ```
 */
import { connections as defaultHandler, type ConnectionHandler } from '@spool/connections';

export interface TestTransactionOptions {
  /** The aliases to wrap in a transaction. Default `['default']` (Django's `databases`). */
  using?: readonly string[];
  /** The handler. Default: this thread's. */
  handler?: ConnectionHandler;
}

/** Run `fn` in a new scope, inside a transaction per alias that is rolled back afterwards; resolves with its result. */
export function inTestTransaction<T>(fn: () => T | Promise<T>, options: TestTransactionOptions = {}): Promise<T> {
  const handler = options.handler ?? defaultHandler;
  const aliases = [...(options.using ?? ['default'])];
  const wrap = (i: number): Promise<T> => {
    if (i === aliases.length) return Promise.resolve().then(fn);
    const using = aliases[i] as string;
    return handler.atomic(
      async () => {
        try {
          return await wrap(i + 1);
        } finally {
          // Rolled back whatever happened: a failing test rolls back too (by its error).
          if (handler.inAtomicBlock({ using })) handler.setRollback(true, { using });
        }
      },
      { using },
    );
  };
  return handler.scope(() => wrap(0), { name: 'test' });
}

type TestFn = () => unknown;
type JestTest = ((name: string, fn: TestFn, timeout?: number) => void) & {
  only: (name: string, fn: TestFn, timeout?: number) => void;
  skip: (name: string, fn: TestFn, timeout?: number) => void;
};

export interface TransactionalTest {
  (name: string, fn: TestFn, timeout?: number): void;
  only(name: string, fn: TestFn, timeout?: number): void;
  skip(name: string, fn: TestFn, timeout?: number): void;
  /** A variant with other aliases or handler. */
  with(options: TestTransactionOptions): TransactionalTest;
}

function makeTest(options: TestTransactionOptions): TransactionalTest {
  const jestTest = (): JestTest => {
    const t = (globalThis as unknown as { test?: JestTest }).test;
    if (typeof t !== 'function') throw new Error('transactionalTest needs the test runner globals (jest or vitest).');
    return t;
  };
  const body = (fn: TestFn) => () => inTestTransaction(fn, options);
  const test = ((name: string, fn: TestFn, timeout?: number) => jestTest()(name, body(fn), timeout)) as TransactionalTest;
  test.only = (name, fn, timeout) => jestTest().only(name, body(fn), timeout);
  test.skip = (name, fn, timeout) => jestTest().skip(name, body(fn), timeout);
  test.with = (more) => makeTest({ ...options, ...more });
  return test;
}

/** jest's `test`, with each body run by `inTestTransaction()`: `import { transactionalTest as test } from '@spool/testing'`. */
export const transactionalTest: TransactionalTest = makeTest({});
