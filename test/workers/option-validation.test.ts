// Every validation message of @spool/workers, matched by its text. Options are checked up front;
// unknown keys are rejected and the option is named. Async APIs reject rather than throw.
import { ConfigError, configure, connections, shutdown } from '@spool/connections';
import { task, WorkerPool } from '@spool/workers';
import { DATABASES } from '../support/helpers';
import { fixture } from './helpers';

const sqlite = DATABASES.find((d) => d.name === 'sqlite');
const filename = fixture('query-task.js');

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

(sqlite ? describe : describe.skip)('WorkerPool option validation', () => {
  let pool: WorkerPool | undefined;
  beforeAll(async () => {
    await sqlite?.setup();
  });
  beforeEach(() => {
    configure({ databases: { default: sqlite!.settings(), other: sqlite!.settings() } });
  });
  afterEach(async () => {
    await pool?.close({ deadlineMs: 0 });
    pool = undefined;
    await shutdown();
  });

  test('the thread must be configured first', async () => {
    await shutdown();
    expect(connections.configured).toBe(false);
    const err = configError(() => new WorkerPool({ filename }));
    expect(err.message).toBe(
      'new WorkerPool(): Spool is not configured in this thread. Call configure({ databases: { default: … } }) before creating the pool: the pool passes those settings on to every worker, so the worker file needs no configure() of its own.',
    );
  });

  test.each([
    [
      { filename, wrkers: 4 },
      "new WorkerPool(): unknown option 'wrkers'. Valid options: 'filename', 'handler', 'workers', 'budget', 'perWorker', 'databases', 'timeoutMs', 'checkCapacity', 'workerData', 'name', 'logger', 'resourceLimits', 'env', 'execArgv', 'argv'.",
      'wrkers',
    ],
    [{ filename, workers: '4' }, "new WorkerPool(): option 'workers' must be an integer >= 1, got string '4'.", 'workers'],
    [{ filename, workers: 0 }, "new WorkerPool(): option 'workers' must be an integer >= 1, got number 0.", 'workers'],
    [{ filename: 42 }, "new WorkerPool(): option 'filename' must be a file path or a file: URL, got number 42.", 'filename'],
    [
      { filename: '/no/such/jobs.js' },
      "new WorkerPool(): option 'filename' points to '/no/such/jobs.js', which does not exist. Give the path (or file: URL) of the worker file that exports task(fn).",
      'filename',
    ],
    [
      { filename, budget: { replica: 2 } },
      "new WorkerPool(): option 'budget.replica' names the database 'replica', which is not configured. Configured aliases: 'default', 'other'.",
      'budget.replica',
    ],
    [
      { filename, budget: { default: 0 } },
      "new WorkerPool(): option 'budget.default' must be an integer >= 1, got number 0.",
      'budget.default',
    ],
    [{ filename, budget: [4] }, "new WorkerPool(): option 'budget' must be an object of alias: integer >= 1, got an array.", 'budget'],
    [
      { filename, perWorker: { default: 1.5 } },
      "new WorkerPool(): option 'perWorker.default' must be an integer >= 1, got number 1.5.",
      'perWorker.default',
    ],
    [
      { filename, databases: { default: { max: 3 } } },
      "new WorkerPool(): option 'databases.default.max' must be left out: use perWorker: { default: n }, got number 3.",
      'databases.default.max',
    ],
    [
      { filename, databases: { nope: {} } },
      "new WorkerPool(): option 'databases.nope' names the database 'nope', which is not configured. Configured aliases: 'default', 'other'.",
      'databases.nope',
    ],
    [{ filename, timeoutMs: -1 }, "new WorkerPool(): option 'timeoutMs' must be a number of ms > 0, or null, got number -1.", 'timeoutMs'],
    [
      { filename, handler: 'not an export' },
      "new WorkerPool(): option 'handler' must be the name of an export of the worker file, got string 'not an export'.",
      'handler',
    ],
    [
      { filename, workerData: { spool: 1 } },
      "new WorkerPool(): option 'workerData' must not use the key 'spool', which the pool uses to pass the database settings.",
      'workerData.spool',
    ],
    [{ filename, logger: {} }, "new WorkerPool(): option 'logger' must be an object with a warn(message) method, got an object.", 'logger'],
    [{ filename, checkCapacity: 'yes' }, "new WorkerPool(): option 'checkCapacity' must be a boolean, got string 'yes'.", 'checkCapacity'],
  ])('new WorkerPool(%j) is rejected, naming the option', (options, message, option) => {
    const err = configError(() => new WorkerPool(options as never));
    expect(err.message).toBe(message);
    expect(err.option).toBe(option);
  });

  test('the settings the workers will get are validated here, not at their first query', () => {
    const err = configError(() => new WorkerPool({ filename, databases: { default: { maxAge: 'soon' as never } } }));
    expect(err.message).toBe("Option 'databases.default.maxAge' must be a number >= 0 or null, got 'soon'.");
  });

  test('run(), map() and close() reject (never throw) on bad options', async () => {
    pool = new WorkerPool({ filename, workers: 1, checkCapacity: false });
    await expect(pool.run({}, { timeout: 5 } as never)).rejects.toThrow(
      "pool.run(): unknown option 'timeout'. Valid options: 'name', 'signal', 'timeoutMs', 'handler', 'transferList'.",
    );
    await expect(pool.run({}, { signal: 'stop' } as never)).rejects.toThrow(
      "pool.run(): option 'signal' must be an AbortSignal, got string 'stop'.",
    );
    await expect(pool.run({}, { timeoutMs: 0 })).rejects.toThrow(
      "pool.run(): option 'timeoutMs' must be a number of ms > 0, or null, got number 0.",
    );
    const badMap = pool.map([1, 2], { concurrency: 0 });
    await expect(badMap.next()).rejects.toThrow("pool.map(): option 'concurrency' must be an integer >= 1, got number 0.");
    await expect(pool.map(42 as never).next()).rejects.toThrow(
      "pool.map(): option 'items' must be an iterable or async iterable, got number 42.",
    );
    await expect(pool.close({ deadline: 5 } as never)).rejects.toThrow(
      "pool.close(): unknown option 'deadline'. Valid options: 'deadlineMs', 'cancelPending'.",
    );
  });

  test('task() checks its arguments', () => {
    expect(configError(() => task('fn' as never)).message).toBe("task(): option 'fn' must be a function, got string 'fn'.");
    expect(configError(() => task(async () => 1, { atomc: true } as never)).message).toBe(
      "task(): unknown option 'atomc'. Valid options: 'name', 'atomic', 'handler'.",
    );
    expect(configError(() => task(async () => 1, { atomic: 'yes' } as never)).message).toBe(
      "task(): option 'atomic' must be a boolean or atomic() options, got string 'yes'.",
    );
  });
});
