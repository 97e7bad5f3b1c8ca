// Every message of the catalogue has a test that matches its text (STYLE: "Give every validation
// message a test that matches its text"). The last test checks that none was forgotten.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  atomic,
  builder,
  ConfigError,
  configure,
  ConnectionHandler,
  connections,
  detach,
  NotSupportedError,
  OperationalError,
  PoolExhaustedError,
  prepareWorker,
  PrimaryReplicaRouter,
  ProgrammingError,
  scope,
  SharedBudget,
  shutdown,
  sql,
  workerSettings,
  type Settings,
} from '@spool/connections';
import { handlerState, messages } from '@spool/connections/internal';
import { captureWarnings, DATABASES, eventually, latch } from '../support/helpers';

const covered = new Set<string>();
const file = join(tmpdir(), `spool-messages-${process.pid}.db`);
const sqlite = { client: 'better-sqlite3' as const, connection: { filename: file } };

function configError(settings: unknown): ConfigError {
  try {
    configure(settings as Settings);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('configure() accepted the settings');
}

afterEach(() => shutdown());

describe('configuration messages', () => {
  test('notAnObject', () => {
    covered.add('notAnObject');
    expect(configError(null).message).toBe('configure() settings must be an object, got null.');
  });

  test('unknownOption, at every level, naming the option and the valid ones', () => {
    covered.add('unknownOption');
    const top = configError({ databases: { default: sqlite }, stirct: true });
    expect(top.message).toBe(
      "Unknown option 'stirct'. Valid options: 'databases', 'routers', 'strict', 'captureStacks', 'logger', 'sharedBudget', 'drainMs'.",
    );
    expect(top.option).toBe('stirct');
    const db = configError({ databases: { default: { ...sqlite, maxage: 1 } } });
    expect(db.message).toMatch(/^Unknown option 'databases\.default\.maxage'\. Valid options: 'client', 'connection', 'maxAge', /);
    const conn = configError({ databases: { default: { client: 'sqlite', connection: { filename: file, timeout: 1 } } } });
    expect(conn.message).toMatch(/^Unknown option 'databases\.default\.connection\.timeout'\. Valid options: 'filename', 'readonly'/);
  });

  test('badOption names the option, the expectation and what was given', () => {
    covered.add('badOption');
    expect(configError({ databases: { default: { ...sqlite, maxAge: -1 } } }).message).toBe(
      "Option 'databases.default.maxAge' must be a number >= 0 or null, got number -1.",
    );
    expect(configError({ databases: { default: sqlite }, drainMs: -5 }).message).toBe(
      "Option 'drainMs' must be a number >= 0, got number -5.",
    );
    expect(configError({ databases: { default: { ...sqlite, maxWaiting: -1 } } }).message).toBe(
      "Option 'databases.default.maxWaiting' must be an integer >= 0 or null, got number -1.",
    );
    expect(configError({ databases: { default: { ...sqlite, maxWaiting: 1.5 } } }).message).toBe(
      "Option 'databases.default.maxWaiting' must be an integer >= 0 or null, got number 1.5.",
    );
    expect(configError({ databases: { default: sqlite }, captureStacks: 'yes' }).message).toBe(
      "Option 'captureStacks' must be a boolean or 'always', got 'yes'.",
    );
    expect(configError({ databases: { default: { ...sqlite, max: 0 } } }).message).toBe(
      "Option 'databases.default.max' must be an integer >= 1, got number 0.",
    );
    expect(configError({ databases: { default: { ...sqlite, pin: 'request' } } }).message).toBe(
      "Option 'databases.default.pin' must be 'scope' or 'transaction', got 'request'.",
    );
    expect(configError({ databases: { default: { ...sqlite, healthChecks: 'yes' } } }).message).toBe(
      "Option 'databases.default.healthChecks' must be a boolean, got 'yes'.",
    );
    expect(configError({ databases: { default: sqlite }, routers: {} }).message).toBe("Option 'routers' must be an array, got an object.");
    expect(configError({ databases: { default: sqlite }, logger: console.log }).message).toBe(
      "Option 'logger' must be an object with a warn(message) method, got a function.",
    );
    expect(configError({ databases: [] }).message).toBe("Option 'databases' must be an object of aliases, got an array.");
  });

  test('missingDefault', () => {
    covered.add('missingDefault');
    expect(configError({ databases: {} }).message).toBe(
      "The 'databases' setting must define a 'default' alias (it is empty). Queries without using(alias) run on 'default'.",
    );
  });

  test('badAliasName', () => {
    covered.add('badAliasName');
    expect(configError({ databases: { default: sqlite, 'my db': sqlite } }).message).toBe(
      "Database alias 'my db' is not valid: use letters, digits, '_' and '-' (at most 64 characters).",
    );
  });

  test('unknownClient', () => {
    covered.add('unknownClient');
    const e = configError({ databases: { default: { client: 'oracle', connection: 'x' } } });
    expect(e.message).toBe(
      "Unknown client 'oracle' for database 'default' (option 'databases.default.client'). Use one of 'pg', 'mysql2', 'better-sqlite3'.",
    );
    expect(e.option).toBe('databases.default.client');
  });

  test('missingConnection', () => {
    covered.add('missingConnection');
    expect(configError({ databases: { default: { client: 'pg' } } }).message).toBe(
      "Database 'default' has no 'connection': give a URL string or an object (for SQLite: { filename }).",
    );
  });

  test('memoryMax', () => {
    covered.add('memoryMax');
    expect(configError({ databases: { default: { client: 'sqlite', connection: ':memory:', max: 2 } } }).message).toBe(
      "Database 'default' is an in-memory SQLite database, which lives inside one connection: 'max' must be 1, got 2. Use a file to share data between connections.",
    );
  });

  test('mirrorUnknown', () => {
    covered.add('mirrorUnknown');
    expect(configError({ databases: { default: { ...sqlite, test: { mirror: 'primary' } } } }).message).toBe(
      "Database 'default' mirrors 'primary' (option 'databases.default.test.mirror'), which is not a configured alias.",
    );
  });

  test('driverMissing names the package to install', async () => {
    covered.add('driverMissing');
    // Simulate an application that did not install pg (a module-resolution failure, not database behaviour).
    let pending: Promise<unknown> | undefined;
    jest.isolateModules(() => {
      jest.doMock('pg', () => {
        throw new Error("Cannot find module 'pg'");
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fresh = require('@spool/connections') as typeof import('@spool/connections');
      fresh.configure({ databases: { default: { client: 'postgres', connection: 'postgres://nowhere/x' } } });
      pending = fresh
        .scope(() => fresh.sql`SELECT 1`)
        .catch((e: unknown) => {
          expect(fresh.ConfigError.is(e)).toBe(true);
          expect((e as Error).message).toBe(
            "The 'postgres' client needs the 'pg' package, which could not be loaded (Cannot find module 'pg'). Install it: npm install pg",
          );
          return 'checked';
        });
    });
    try {
      expect(await pending).toBe('checked');
    } finally {
      jest.dontMock('pg');
    }
  });

  test('notConfigured and alreadyConfigured', async () => {
    covered.add('notConfigured');
    covered.add('alreadyConfigured');
    const h = new ConnectionHandler();
    await expect(h.query('default', 'SELECT 1', [])).rejects.toThrow(
      'Spool is not configured in this thread: call configure({ databases: { default: … } }) first.',
    );
    configure({ databases: { default: sqlite } });
    await sql`SELECT 1`; // the root scope holds a connection now
    expect(() => configure({ databases: { default: sqlite } })).toThrow(
      "Spool is already configured in this thread and connections are open: call 'await shutdown()' (or connections.closeAll()) before configure() again.",
    );
    await connections.closeAll();
    configure({ databases: { default: sqlite } });
  });

  test('workerSettingsNotCloneable', () => {
    covered.add('workerSettingsNotCloneable');
    configure({ databases: { default: { ...sqlite, connection: { filename: file } } } });
    (connections.rawSettings().databases.default as { initSql?: unknown }).initSql = [() => 'SELECT 1'] as unknown as string[];
    expect(() => prepareWorker()).toThrow(/^The database settings cannot be sent to a worker thread \(.*\): use plain values/);
  });

  test('workerSettings() outside a prepared worker says how to configure', () => {
    expect(() => workerSettings()).toThrow(ConfigError);
  });
});

describe('runtime messages', () => {
  beforeEach(() => configure({ databases: { default: sqlite } }));

  test('unknownAlias', async () => {
    covered.add('unknownAlias');
    await expect(scope(() => sql.using('replica')`SELECT 1`)).rejects.toThrow(
      "The connection 'replica' doesn't exist. Configured aliases: 'default'.",
    );
  });

  test('noScope', async () => {
    covered.add('noScope');
    await shutdown();
    configure({ databases: { default: sqlite }, strict: true });
    await expect(sql`SELECT 1`).rejects.toThrow(/^A query on 'default' ran outside any scope while strict mode is on\./);
  });

  test('scopeEnded: a query issued after its scope ended', async () => {
    covered.add('scopeEnded');
    let late!: Promise<unknown>;
    const ended = latch();
    await scope(async () => {
      await sql`SELECT 1`;
      // Work started in the scope but run after it ended (a callback nobody awaited).
      late = ended.fired.then(() => sql`SELECT 2`.then(() => undefined));
    });
    ended.fire();
    await expect(late).rejects.toThrow(
      /^Scope #\d+ has ended, but a query on 'default' was issued from it afterwards\. Await every query inside its scope, or start background work with detach\(\)\.$/,
    );
  });

  test('atomicBlockEnded: a statement issued from an atomic block that has ended', async () => {
    covered.add('atomicBlockEnded');
    let late!: Promise<unknown>;
    const ended = latch();
    await scope(async () => {
      await atomic(async () => {
        late = ended.fired.then(() => sql`SELECT 2`.then(() => undefined));
      });
      ended.fire();
      await expect(late).rejects.toThrow(
        /^A statement on 'default' was issued from an atomic block that has already ended \(committed\) in Scope #\d+: it was refused, rather than run outside the transaction where it would commit on its own\. Await every query inside its atomic\(\) block\.$/,
      );
    });
  });

  test('drained and drainExpired: statements issued before the end, finished or refused past drainMs', async () => {
    covered.add('drained');
    covered.add('drainExpired');
    expect(messages.drained('Scope #1', ['SELECT 1', 'SELECT 2'], 5000)).toBe(
      'Scope #1 ended while 2 statements issued from it had not finished (a forgotten await?): the end waited for them (at most drainMs = 5000 ms) before releasing the connection. Await every query inside its scope (lint with no-floating-promises), or start background work with detach(). SQL:\n  - SELECT 1\n  - SELECT 2',
    );
    const w = captureWarnings();
    await shutdown();
    configure({ databases: { default: sqlite }, logger: w.logger });
    await scope(async () => {
      void sql`SELECT 1 AS one`.rows();
    });
    expect(w.messages).toEqual([
      expect.stringMatching(/^Scope #\d+ ended while a statement issued from it had not finished \(a forgotten await\?\)/),
    ]);
    // drainExpired is matched against a real starved statement in drain.test.ts; the text here.
    expect(messages.drainExpired('Scope #2', 'default', 100)).toBe(
      "Scope #2 has ended, and a query on 'default' issued from it before the end was still waiting for its turn after drainMs = 100 ms: it was refused. Await every query inside its scope, or raise 'drainMs'.",
    );
  });

  test('scopeEndedInTransaction', async () => {
    covered.add('scopeEndedInTransaction');
    const w = captureWarnings();
    await shutdown();
    configure({ databases: { default: sqlite }, logger: w.logger });
    let dangling!: Promise<unknown>;
    const [begun, ended] = [latch(), latch()];
    await scope(async () => {
      dangling = atomic(async () => {
        begun.fire();
        await ended.fired; // still running when its scope ends
      }).catch((e: unknown) => e);
      await begun.fired;
    });
    ended.fire();
    const err = (await dangling) as Error;
    expect(err.message).toMatch(
      /^Scope #\d+ ended while its atomic block on 'default' was still running: the transaction was rolled back\. Await atomic\(\) inside the scope\.$/,
    );
    expect(w.messages).toContainEqual(expect.stringMatching(/ended while its atomic block on 'default' was still running/));
  });

  test('shuttingDown', async () => {
    covered.add('shuttingDown');
    await shutdown();
    const err = await scope(() => sql`SELECT 1`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationalError);
    expect((err as Error).message).toBe("Spool is shutting down: no new connection to 'default' can be leased.");
  });

  test('poolExhausted (thread) and its holders', async () => {
    covered.add('poolExhausted');
    await shutdown();
    configure({ databases: { default: { ...sqlite, max: 1, acquireTimeoutMs: 50 } } });
    const [has, release] = [latch(), latch()];
    const held = scope(
      async () => {
        await sql`SELECT 1`;
        has.fire();
        await release.fired;
      },
      { name: 'holder' },
    );
    await has.fired;
    const err = (await scope(() => sql`SELECT 1`).catch((e: unknown) => e)) as PoolExhaustedError;
    expect(err).toBeInstanceOf(PoolExhaustedError);
    expect(err.message).toMatch(
      /^Timed out after \d+ ms waiting for a connection to 'default': this thread's budget of 1 connections is in use\. Raise 'max' \(or the pool's budget\), lower the time scopes hold connections, or look for scopes that never end\.\nHolders:\n {2}- scope #\d+ 'holder' has held it for \d+ ms, leased at:/,
    );
    release.fire();
    await held;
  });

  test('queueFull: the wait queue is full (maxWaiting), refused at once', async () => {
    covered.add('queueFull');
    await shutdown();
    configure({ databases: { default: { ...sqlite, max: 1, maxWaiting: 1, acquireTimeoutMs: 30_000 } } });
    const [has, release] = [latch(), latch()];
    const held = scope(async () => {
      await sql`SELECT 1`;
      has.fire();
      await release.fired;
    });
    await has.fired;
    const queued = scope(() => sql`SELECT 2`);
    expect(await eventually(() => connections.stats().aliases.default?.waiting === 1)).toBe(true);
    const err = (await scope(() => sql`SELECT 3`).catch((e: unknown) => e)) as PoolExhaustedError;
    expect(err).toBeInstanceOf(PoolExhaustedError);
    expect(err.message).toBe(
      "The wait queue for a connection to 'default' is full: 1 scope is already waiting (maxWaiting = 1) for this thread's budget of 1 connections, " +
        'so this scope was refused at once rather than queued (load shedding). Retry later (@spool/web answers 503 with Retry-After), ' +
        "or raise 'maxWaiting' or 'max' if the database can serve more.",
    );
    release.fire();
    await Promise.all([held, queued]);
  });

  test('poolExhausted (process-wide budget)', async () => {
    await shutdown();
    const budget = SharedBudget.create({ default: 1 });
    configure({ databases: { default: { ...sqlite, acquireTimeoutMs: 50 } }, sharedBudget: budget });
    const [has, release] = [latch(), latch()];
    const held = scope(async () => {
      await sql`SELECT 1`;
      has.fire();
      await release.fired;
    });
    await has.fired;
    const err = (await scope(() => sql`SELECT 1`).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      /^Timed out after \d+ ms waiting for a connection to 'default': the process-wide budget of 1 connections is in use\./,
    );
    release.fire();
    await held;
  });

  test('connectFailed', async () => {
    covered.add('connectFailed');
    await shutdown();
    configure({ databases: { default: { client: 'pg', connection: { host: '127.0.0.1', port: 1, user: 'x' } } } });
    const err = (await scope(() => sql`SELECT 1`).catch((e: unknown) => e)) as OperationalError;
    expect(err).toBeInstanceOf(OperationalError);
    expect(err.message).toMatch(/^Could not connect to 'default': .*ECONNREFUSED/);
  });

  test('brokenAtomic, durableNested, rollbackFlagOutside, isolationUnsupported, isolationNested, forbiddenInAtomic', async () => {
    for (const k of [
      'brokenAtomic',
      'durableNested',
      'rollbackFlagOutside',
      'isolationUnsupported',
      'isolationNested',
      'forbiddenInAtomic',
    ])
      covered.add(k);
    await scope(async () => {
      await expect(
        atomic(async () => {
          await sql`SELECT * FROM nowhere_at_all`.catch(() => undefined);
          await sql`SELECT 1`;
        }),
      ).rejects.toThrow(
        "You can't execute queries until the end of the 'atomic' block: an earlier query on 'default' failed inside it. Let the error leave the block (it rolls back), or wrap the query that may fail in its own atomic() to roll back to a savepoint.",
      );
      await expect(atomic(() => atomic(() => undefined, { durable: true }))).rejects.toThrow(
        "A durable atomic block cannot be nested within another atomic block (alias 'default').",
      );
      expect(() => connections.setRollback(true)).toThrow("The rollback flag doesn't work outside of an 'atomic' block (alias 'default').");
      await expect(atomic(() => undefined, { isolationLevel: 'repeatable read' })).rejects.toThrow(
        "Isolation level 'repeatable read' is not supported on 'default'. Supported: 'serializable'.",
      );
      await expect(atomic(() => atomic(() => undefined, { isolationLevel: 'serializable' }))).rejects.toThrow(
        "An isolation level can only be set on the outermost atomic block (alias 'default'): this block is nested.",
      );
      await expect(atomic(() => sql`COMMIT`)).rejects.toThrow(
        "This is forbidden when an 'atomic' block is active (alias 'default'): COMMIT from raw SQL. Let atomic() commit and roll back.",
      );
    });
  });

  test('forgottenTransaction', async () => {
    covered.add('forgottenTransaction');
    const w = captureWarnings();
    await shutdown();
    configure({ databases: { default: sqlite }, logger: w.logger });
    await scope(() => sql`BEGIN`);
    expect(w.messages).toContainEqual(
      expect.stringMatching(
        /^Scope #\d+ ended with a transaction still open on 'default': it was rolled back\. Use atomic\(\) rather than raw BEGIN, and await it inside the scope\.$/,
      ),
    );
  });

  test('leak', async () => {
    covered.add('leak');
    const w = captureWarnings();
    await shutdown();
    configure({ databases: { default: { ...sqlite, leakThresholdMs: 20 } }, logger: w.logger });
    const leakReported = () => w.messages.some((m) => m.startsWith('Possible connection leak'));
    await scope(async () => {
      await sql`SELECT 1`;
      await eventually(leakReported); // hold the connection until the report
    });
    expect(w.messages).toContainEqual(
      expect.stringMatching(
        /^Possible connection leak: Scope #\d+ has held a connection to 'default' for \d+ ms \(leakThresholdMs\)\. It was leased at:\n/,
      ),
    );
  });

  test('onCommitFailed and detachedFailed', async () => {
    covered.add('onCommitFailed');
    covered.add('detachedFailed');
    const w = captureWarnings();
    await shutdown();
    configure({ databases: { default: sqlite }, logger: w.logger });
    await scope(() =>
      atomic(() =>
        connections.onCommit(
          () => {
            throw new Error('hook');
          },
          { robust: true },
        ),
      ),
    );
    await detach(() => {
      throw new Error('bg');
    });
    expect(w.messages).toContainEqual(
      expect.stringMatching(/^A robust onCommit hook on 'default' failed; the others still ran\. Error: hook/),
    );
    expect(w.messages).toContainEqual(expect.stringMatching(/^Detached work in Scope #\d+ 'detached' failed: Error: bg/));
  });

  test('transactionInBuilder', () => {
    covered.add('transactionInBuilder');
    expect(() => builder().transaction()).toThrow(
      "builder(alias).transaction() is not available: use atomic(async () => …), which binds the scope's builder and models to the transaction.",
    );
  });

  test('badTemplateValue, badIdentifier, sqlNotTemplate', async () => {
    covered.add('badTemplateValue');
    covered.add('badIdentifier');
    covered.add('sqlNotTemplate');
    await expect(scope(() => sql`SELECT ${1}, ${() => 2}`)).rejects.toThrow(
      'Value #2 of the sql template is a function, which cannot be bound. Bind strings, numbers, bigints, booleans, dates, buffers, null or plain objects (stored as JSON).',
    );
    expect(() => sql.id('1table')).toThrow(ProgrammingError);
    expect(() => sql.id('a.b.c')).toThrow(
      "'a.b.c' is not a valid SQL identifier for sql.id(): use 1-63 characters of letters, digits, '_' and '$', not starting with a digit (optionally 'schema.name').",
    );
    expect(() => (sql as unknown as (s: string) => unknown)('SELECT 1')).toThrow(
      'sql must be used as a tagged template: sql`SELECT … WHERE id = ${id}`. Values are bound as parameters; for identifiers use sql.id(name).',
    );
  });

  test('connectionUnusable', async () => {
    covered.add('connectionUnusable');
    await scope(async () => {
      await sql`SELECT 1`;
      // Close the driver connection under the scope, as a dying server would.
      const conn = handlerState(connections).pools.get('default')!.leased()[0]!;
      (conn.raw.driver as { close(): void }).close();
      await expect(sql`SELECT 1`).rejects.toThrow();
      await expect(sql`SELECT 1`).rejects.toThrow(
        /^The connection to 'default' is unusable \(.*\)\. Scope #\d+ keeps failing on it until it ends; the connection is then closed and the next scope gets a new one\.$/,
      );
    });
    expect(await scope(() => sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
  });

  test('shutdownForced', async () => {
    covered.add('shutdownForced');
    const w = captureWarnings();
    await shutdown();
    configure({ databases: { default: sqlite }, logger: w.logger });
    const [has, release] = [latch(), latch()];
    const held = scope(
      async () => {
        await sql`SELECT 1`;
        has.fire();
        await release.fired;
      },
      { name: 'stuck' },
    );
    await has.fired;
    const report = await shutdown({ deadlineMs: 30 });
    expect(report.forced).toBe(1);
    expect(report.forcedScopes[0]).toMatch(/^Scope #\d+ 'stuck'$/);
    expect(w.messages).toContain(
      'shutdown(): 1 connection(s) were still leased after 30 ms and were closed (open transactions rolled back).',
    );
    release.fire();
    await held;
  });

  test('sharedBudgetAlias and sharedBudgetFull', () => {
    covered.add('sharedBudgetAlias');
    covered.add('sharedBudgetFull');
    const b = SharedBudget.create({ default: 1 }, { threads: 1 });
    expect(() => b.tryAcquire('replica')).toThrow("The process-wide budget has no slot for alias 'replica' (it covers 'default').");
    expect(() => SharedBudget.create({ default: 0 })).toThrow("Option 'budget.default' must be an integer >= 1, got number 0.");
    const full = SharedBudget.create({ default: 1 }, { threads: 0 });
    expect(() => full.tryAcquire('default')).toThrow(
      "The process-wide budget has no free thread slot: more threads use it than it was created for (option 'threads').",
    );
  });
});

test('invalidRegex: a pattern RE2 cannot express, on SQLite', async () => {
  covered.add('invalidRegex');
  configure({ databases: { default: sqlite } });
  const err = await scope(() => sql`SELECT 'aa' REGEXP ${'(a)\\1'} AS m`).catch((e: unknown) => e);
  expect((err as Error).message).toBe(
    "Invalid regular expression for REGEXP on SQLite: '(a)\\1' (invalid escape sequence: `\\1`). Spool runs SQLite's REGEXP on RE2, in linear time: its syntax has no backreferences (\\1) and no lookaround ((?=…), (?!…), (?<=…)).",
  );
  await shutdown();
});

test('transactionLost (the scenario: test/faults/transaction-control.test.ts)', () => {
  covered.add('transactionLost');
  expect(messages.transactionLost('default', 'Connection terminated unexpectedly')).toBe(
    "The atomic block on 'default' did not commit: its connection was lost inside it (Connection terminated unexpectedly), and the server rolled the transaction back. Its onCommit hooks were dropped. Run the block again in a new scope.",
  );
});

test('commitOutcomeUnknown (the scenario: test/faults/transaction-control.test.ts)', () => {
  covered.add('commitOutcomeUnknown');
  expect(messages.commitOutcomeUnknown('default', 'read ECONNRESET')).toBe(
    "The COMMIT of the atomic block on 'default' lost its connection before the server answered (read ECONNRESET): the transaction may have been committed or rolled back, and the client cannot tell which. Its onCommit hooks did not run. Check the data before doing the work again.",
  );
});

test('rawTransactionPerUse and transactionLeftOpenPerUse (the scenarios: test/connections/atomic.test.ts)', () => {
  covered.add('rawTransactionPerUse');
  covered.add('transactionLeftOpenPerUse');
  expect(messages.rawTransactionPerUse('default', 'BEGIN')).toBe(
    "A raw BEGIN on 'default' outside atomic() is refused with pin: 'transaction': each statement there leases a connection for itself and gives it back, so the transaction would stay open on a pooled connection for the next scope to run in. Use atomic().",
  );
  expect(messages.transactionLeftOpenPerUse('default')).toBe(
    "A statement on 'default' with pin: 'transaction' left a transaction open on the connection it leased for itself: it was rolled back before the connection went back to the pool. Use atomic().",
  );
});

test('childCleanupFailed and forcedCleanupFailed (the scenarios: test/workers/plain-pools-mid-query.test.ts, test/faults/sigterm.test.ts)', () => {
  covered.add('childCleanupFailed');
  covered.add('forcedCleanupFailed');
  expect(messages.childCleanupFailed('default', [7, 8], 'connect ECONNREFUSED 127.0.0.1:5432')).toBe(
    "A worker thread vanished with connections to 'default' open (server ids 7, 8), and they could not be ended on the server (connect ECONNREFUSED 127.0.0.1:5432): the server ends them when it notices the client is gone.",
  );
  expect(messages.forcedCleanupFailed('default', [9], 'connect ECONNREFUSED 127.0.0.1:5432')).toBe(
    "shutdown(): the statements still running on 'default' at the deadline (server ids 9) could not be ended on the server (connect ECONNREFUSED 127.0.0.1:5432): the server ends them when it notices the client is gone.",
  );
});

test('badReplicas', () => {
  covered.add('badReplicas');
  expect(() => new PrimaryReplicaRouter({ replicas: ['replica', ''] })).toThrow(
    `new PrimaryReplicaRouter(): option 'replicas' must be a non-empty array of alias names, got ["replica",""].`,
  );
});

describe('MySQL-only messages', () => {
  const mysql = DATABASES.find((d) => d.name === 'mysql');
  (mysql ? test : test.skip)('autocommitChanged', async () => {
    covered.add('autocommitChanged');
    await mysql!.setup();
    const w = captureWarnings();
    configure({ databases: { default: mysql!.settings({ maxAge: null }) }, logger: w.logger });
    await scope(() => sql`SET autocommit = 0`);
    expect(w.messages).toContainEqual(
      expect.stringMatching(
        /^Scope #\d+ turned autocommit off on 'default': the connection was closed rather than handed to the next scope\. Use atomic\(\) for transactions\.$/,
      ),
    );
  });
});

describe('pooler messages', () => {
  const pgConfig = { client: 'pg' as const, connection: { host: '127.0.0.1', port: 5432, user: 'nobody', database: 'none' } };

  test('poolerNotPostgres', () => {
    covered.add('poolerNotPostgres');
    const err = configError({ databases: { default: { ...sqlite, pooler: 'transaction' } } });
    expect(err.message).toBe(
      "Database 'default' sets 'pooler' (option 'databases.default.pooler'), which is for PostgreSQL behind a pooler in transaction mode (PgBouncer); its client is 'better-sqlite3'. Remove the option.",
    );
    expect(err.option).toBe('databases.default.pooler');
    expect(configError({ databases: { default: { ...pgConfig, pooler: 'session' } } }).message).toBe(
      `Option 'databases.default.pooler' must be 'transaction' or null, got 'session'.`,
    );
  });

  test('poolerPrepared', () => {
    covered.add('poolerPrepared');
    const err = configError({ databases: { default: { ...pgConfig, pooler: 'transaction', prepareThreshold: 5 } } });
    expect(err.message).toBe(
      "Database 'default' goes through a pooler in transaction mode (pooler: 'transaction'), where a named prepared statement would be prepared on one server connection and run on another: 'prepareThreshold' must be null, got number 5.",
    );
    expect(err.option).toBe('databases.default.prepareThreshold');
  });

  test('poolerInitSql', () => {
    covered.add('poolerInitSql');
    const err = configError({ databases: { default: { ...pgConfig, pooler: 'transaction', initSql: ["SET TIME ZONE 'UTC'"] } } });
    expect(err.message).toBe(
      "Database 'default' goes through a pooler in transaction mode (pooler: 'transaction'), where 'initSql' runs on whichever server connection answers and stays there for other clients: " +
        "A session-level SET is refused in option 'databases.default.initSql'. Set session defaults on the server (ALTER ROLE … SET …) or in the pooler's connect_query.",
    );
    expect(err.option).toBe('databases.default.initSql');
    // Statements without session state are fine there, and the pooler settles pin and prepareThreshold.
    configure({ databases: { default: { ...pgConfig, pooler: 'transaction', initSql: ['SELECT 1'] } } });
    expect(connections.settingsFor('default')).toMatchObject({ pooler: 'transaction', pin: 'transaction', prepareThreshold: null });
    // pin 'transaction' alone: no named statements on PostgreSQL (a pooler may sit there
    // undeclared), prepared statements on MariaDB/MySQL (mysql2's are the connection's own).
    configure({ databases: { default: { ...pgConfig, pin: 'transaction' } } });
    expect(connections.settingsFor('default')).toMatchObject({ pooler: null, pin: 'transaction', prepareThreshold: null });
    configure({ databases: { default: { client: 'mysql2', connection: 'mysql://nobody@127.0.0.1/none', pin: 'transaction' } } });
    expect(connections.settingsFor('default')).toMatchObject({ pin: 'transaction', prepareThreshold: 5 });
    configure({ databases: { default: { ...pgConfig } } });
    expect(connections.settingsFor('default')).toMatchObject({ pin: 'scope', prepareThreshold: 5 });
  });

  const postgres = DATABASES.find((d) => d.name === 'postgres');
  (postgres ? test : test.skip)('poolerSessionFeature', async () => {
    covered.add('poolerSessionFeature');
    await postgres!.setup();
    configure({ databases: { default: postgres!.settings({ pooler: 'transaction' }) } });
    const err = await scope(() => sql`SET statement_timeout = 1`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as NotSupportedError).message).toBe(
      "A session-level SET is refused on 'default', which goes through a pooler in transaction mode (pooler: 'transaction'): its effect would stay on a server connection other clients share, and this client's next statement may run on another. " +
        'Use SET LOCAL inside atomic() (it lasts until the block ends), or set the default for the role on the server (ALTER ROLE … SET …).',
    );
    expect((err as NotSupportedError).sql).toBe('SET statement_timeout = 1');
  });
});

test('every message of the catalogue is covered above', () => {
  // Messages that only MySQL (PostgreSQL) can produce are checked when MySQL (PostgreSQL) is in the matrix.
  const needsMysql = DATABASES.some((d) => d.name === 'mysql') ? [] : ['autocommitChanged'];
  const needsPostgres = DATABASES.some((d) => d.name === 'postgres') ? [] : ['poolerSessionFeature'];
  expect([...covered, ...needsMysql, ...needsPostgres].sort()).toEqual(Object.keys(messages).sort());
});
