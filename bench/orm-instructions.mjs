// bench/orm-instructions.mjs: client instructions (callgrind) per operation of the raw driver, Kysely
// and Spool on bench/orm.mjs's prefetch20, selectRelated20 and getByPk (the same code as there), on tables of
// its own (oi_author, oi_book: 1,000 authors with 10 books each, kept between runs). Each library
// runs in a child under callgrind, N1 then N2 operations after the same warm-up (300 operations:
// past Spool's prepare threshold and the optimizing compiler); prints
// (count(N2) - count(N1)) / (N2 - N1) per operation. Without callgrind (--trace), prints the
// driver commands each library sends per operation (mysql2: Query, Execute, Prepare, ...).
//
//   node bench/orm-instructions.mjs --db=mysql,postgres --libs=raw,kysely,spool --ops=prefetch20,selectRelated20 [--n1=200 --n2=1000]
//   node bench/orm-instructions.mjs --trace --db=mysql     commands per operation, no callgrind
//   node bench/orm-instructions.mjs --server --n=3000 --db=mysql   the server's CPU per operation (a local server: /proc)
//   --from=/checkout   Spool (@spool/*) from another built checkout (a baseline)
//   --predictable-gc   children under V8's --predictable-gc-schedule (less run-to-run noise; see below)
//   lib spool-noprep   Spool with prepareThreshold: null (text protocol only)
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchModels, callgrindInstructions, cliArgs, mysqlUrl, pgUrl, seedBenchModels } from './lib.mjs';

const file = fileURLToPath(import.meta.url);
const args = cliArgs();
const AUTHORS = 1000;
const BOOKS_PER_AUTHOR = 10;
const local = createRequire(file);
const requireSpool = (m) => (args.from ? createRequire(join(args.from, 'package.json'))(m) : local(m));

/** The raw driver's and Kysely's prefetch: each author's books in a list of its own (as bench/orm.mjs). */
function linkBooks(authors, books) {
  const by = new Map(authors.map((a) => [a.id, (a.books = [])]));
  for (const b of books) by.get(b.author_id)?.push(b);
  return authors;
}

/** The raw driver's and Kysely's selectRelated: each joined row as a book with its author (as bench/orm.mjs). */
const nestAuthors = (rows) =>
  rows.map((r) => ({
    id: r.id,
    title: r.title,
    pages: r.pages,
    author_id: r.author_id,
    author: { id: r.a_id, name: r.name, age: r.age },
  }));

async function setup(db, lib) {
  const c = requireSpool('@spool/connections');
  const o = requireSpool('@spool/orm');
  const { Author, Book } = benchModels(o, 'oi');
  c.configure({
    databases: {
      default: {
        client: db === 'postgres' ? 'pg' : 'mysql2',
        connection: db === 'postgres' ? pgUrl : mysqlUrl,
        max: 1,
        maxAge: null,
        connectTimeoutMs: 120_000,
        acquireTimeoutMs: 600_000,
        ...(lib === 'spool-noprep' ? { prepareThreshold: null } : {}),
      },
    },
  });
  await c.scope(() => seedBenchModels(o, { Author, Book }, AUTHORS, BOOKS_PER_AUTHOR));
  const ids = await c.scope(() => Author.objects.orderBy('id').valuesList('id', { flat: true }));
  let n = 0;
  /** getByPk's key: the same walk over the ids as bench/orm.mjs. */
  const pick = () => ids[(n++ * 7919) % ids.length];
  const q = (x) => (db === 'mysql' ? `\`${x}\`` : `"${x}"`);
  const sqlBookCols = `${q('id')}, ${q('title')}, ${q('pages')}, ${q('author_id')}`;
  if (lib === 'spool' || lib === 'spool-noprep') {
    // As bench/orm.mjs: the whole run in one scope.
    const ops = {
      prefetch20: () =>
        Author.objects
          .orderBy('id')
          .slice((n++ * 20) % (AUTHORS - 20), (((n - 1) * 20) % (AUTHORS - 20)) + 20)
          .prefetchRelated('books'),
      selectRelated20: () => {
        const start = ids[(n++ * 20) % (AUTHORS - 20)];
        return Book.objects.filter({ author__gte: start, author__lt: start + 20 }).selectRelated('author');
      },
      getByPk: () => Author.objects.get({ id: pick() }),
    };
    return { ops, run: (fn) => c.scope(fn), close: () => c.shutdown() };
  }
  await c.shutdown();
  if (lib === 'raw') {
    let raw;
    if (db === 'postgres') {
      const pg = local('pg');
      const cl = new pg.Client({ connectionString: pgUrl });
      await cl.connect();
      raw = { q: async (s, p = []) => (await cl.query(s, p)).rows, ph: (i) => `$${i}`, close: () => cl.end() };
    } else {
      const mysql = local('mysql2');
      const cl = mysql.createConnection({ uri: mysqlUrl, timezone: 'Z', supportBigNumbers: true });
      raw = {
        q: (s, p) => new Promise((res, rej) => cl.query(s, p, (e, r) => (e ? rej(e) : res(r)))),
        ph: () => '?',
        close: () => new Promise((r) => cl.end(() => r())),
      };
    }
    const ph = raw.ph;
    const ops = {
      prefetch20: async () => {
        const start = (n++ * 20) % (AUTHORS - 20);
        const as = await raw.q(
          `SELECT ${q('id')}, ${q('name')}, ${q('age')} FROM ${q('oi_author')} ORDER BY ${q('id')} LIMIT ${ph(1)} OFFSET ${ph(2)}`,
          [20, start],
        );
        const bs = await raw.q(
          `SELECT ${sqlBookCols} FROM ${q('oi_book')} WHERE ${q('author_id')} IN (${as.map((_, i) => ph(i + 1)).join(', ')})`,
          as.map((a) => a.id),
        );
        return linkBooks(as, bs);
      },
      selectRelated20: () => {
        const start = ids[(n++ * 20) % (AUTHORS - 20)];
        return raw
          .q(
            `SELECT b.${q('id')}, b.${q('title')}, b.${q('pages')}, b.${q('author_id')}, a.${q('id')} AS a_id, a.${q('name')}, a.${q('age')} FROM ${q('oi_book')} b INNER JOIN ${q('oi_author')} a ON a.${q('id')} = b.${q('author_id')} WHERE b.${q('author_id')} >= ${ph(1)} AND b.${q('author_id')} < ${ph(2)}`,
            [start, start + 20],
          )
          .then(nestAuthors);
      },
      getByPk: async () => {
        const rows = await raw.q(`SELECT ${q('id')}, ${q('name')}, ${q('age')} FROM ${q('oi_author')} WHERE ${q('id')} = ${ph(1)}`, [
          pick(),
        ]);
        return rows[0];
      },
    };
    return { ops, run: (fn) => fn(), close: raw.close };
  }
  // Kysely, as bench/orm.mjs.
  const { Kysely, PostgresDialect, MysqlDialect } = local('kysely');
  const dialect =
    db === 'postgres'
      ? new PostgresDialect({ pool: new (local('pg').Pool)({ connectionString: pgUrl, max: 1 }) })
      : new MysqlDialect({
          pool: local('mysql2').createPool({ uri: mysqlUrl, connectionLimit: 1, timezone: 'Z', supportBigNumbers: true }),
        });
  const kysely = new Kysely({ dialect });
  const ops = {
    prefetch20: async () => {
      const start = (n++ * 20) % (AUTHORS - 20);
      const as = await kysely.selectFrom('oi_author').select(['id', 'name', 'age']).orderBy('id').limit(20).offset(start).execute();
      const bs = await kysely
        .selectFrom('oi_book')
        .select(['id', 'title', 'pages', 'author_id'])
        .where(
          'author_id',
          'in',
          as.map((a) => a.id),
        )
        .execute();
      return linkBooks(as, bs);
    },
    selectRelated20: () => {
      const start = ids[(n++ * 20) % (AUTHORS - 20)];
      return kysely
        .selectFrom('oi_book as b')
        .innerJoin('oi_author as a', 'a.id', 'b.author_id')
        .select(['b.id', 'b.title', 'b.pages', 'b.author_id', 'a.id as a_id', 'a.name', 'a.age'])
        .where('b.author_id', '>=', start)
        .where('b.author_id', '<', start + 20)
        .execute()
        .then(nestAuthors);
    },
    getByPk: () => kysely.selectFrom('oi_author').select(['id', 'name', 'age']).where('id', '=', pick()).executeTakeFirst(),
  };
  return { ops, run: (fn) => fn(), close: () => kysely.destroy() };
}

async function child() {
  const { ops, run, close } = await setup(args.db, args.lib);
  const op = ops[args.op];
  if (args.trace) {
    // mysql2: the commands each operation sends (after the warm-up).
    const base = local(join(local.resolve('mysql2'), '..', 'lib', 'base', 'connection.js'));
    const counts = {};
    const add = base.prototype.addCommand;
    let on = false;
    base.prototype.addCommand = function (cmd) {
      if (on) counts[cmd.constructor.name] = (counts[cmd.constructor.name] ?? 0) + 1;
      return add.call(this, cmd);
    };
    await run(async () => {
      for (let i = 0; i < 300; i++) await op();
      on = true;
      for (let i = 0; i < 100; i++) await op();
      on = false;
    });
    console.log(
      `${args.db} ${args.op} ${args.lib}: per op ${JSON.stringify(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / 100])))}`,
    );
  } else if (args.server) {
    // The server's CPU for the operations: the MariaDB or PostgreSQL server on this machine, the
    // thread (MariaDB) or process (PostgreSQL backend) whose CPU time grew most over the loop.
    const { readdirSync, readFileSync } = await import('node:fs');
    const tasks = () => {
      const out = new Map();
      for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
        let comm;
        try {
          comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        } catch {
          continue;
        }
        if (!/^(mariadbd|mysqld|postgres)$/.test(comm)) continue;
        let tids = [pid];
        try {
          tids = readdirSync(`/proc/${pid}/task`);
        } catch {
          /* gone */
        }
        for (const tid of tids) {
          try {
            const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
            out.set(`${pid}/${tid}`, Number(f[11]) + Number(f[12]));
          } catch {
            /* gone */
          }
        }
      }
      return out;
    };
    await run(async () => {
      for (let i = 0; i < 300; i++) await op();
      const t0 = tasks();
      const c0 = process.cpuUsage();
      for (let i = 0; i < Number(args.n); i++) await op();
      const c = process.cpuUsage(c0);
      const t1 = tasks();
      let best = 0;
      for (const [k, v] of t1) best = Math.max(best, v - (t0.get(k) ?? v));
      const hz = 100;
      console.log(
        `${args.db} ${args.op} ${args.lib}: server ${((best / hz / Number(args.n)) * 1e6).toFixed(1)} us CPU/op (busiest server thread), client ${((c.user + c.system) / Number(args.n)).toFixed(1)} us CPU/op`,
      );
    });
  } else
    await run(async () => {
      for (let i = 0; i < 300; i++) await op();
      for (let i = 0; i < Number(args.n); i++) await op();
    });
  await close();
}

if (args.child) await child();
else {
  const n1 = Number(args.n1 ?? 200);
  const n2 = Number(args.n2 ?? 1000);
  for (const db of String(args.db ?? 'mysql').split(','))
    for (const op of String(args.ops ?? 'prefetch20,selectRelated20').split(','))
      for (const lib of String(args.libs ?? 'raw,kysely,spool').split(',')) {
        const extra = [...(args.from ? [`--from=${args.from}`] : [])];
        if (args.trace || args.server) {
          const { spawnSync } = await import('node:child_process');
          const mode = args.trace ? ['--trace'] : ['--server', `--n=${args.n ?? 3000}`];
          const r = spawnSync(process.execPath, [file, '--child', ...mode, `--db=${db}`, `--op=${op}`, `--lib=${lib}`, ...extra], {
            encoding: 'utf8',
          });
          process.stdout.write(r.stdout + r.stderr);
          continue;
        }
        // --single-threaded: no concurrent GC or compiler threads, whose share of the work varies
        // from run to run (about ±100,000 instructions per operation without it).
        // --predictable-gc: V8's fixed GC schedule (fixed heap growing, no memory reducer, no
        // idle-time GC), whose timer-driven collections otherwise land in the counted window or not
        // depending on how long the run takes under valgrind (±0.15M instructions per operation seen
        // on prefetch20 between two runs of one build). Counts are then not comparable with runs without it.
        const count = (k) =>
          callgrindInstructions([
            process.execPath,
            '--single-threaded',
            ...(args['predictable-gc'] ? ['--predictable-gc-schedule'] : []),
            file,
            '--child',
            `--db=${db}`,
            `--op=${op}`,
            `--lib=${lib}`,
            `--n=${k}`,
            ...extra,
          ]);
        const per = (count(n2) - count(n1)) / (n2 - n1);
        console.log(`${db} ${op} ${lib}${args.from ? ` (from ${args.from})` : ''}: ${Math.round(per)} instr/op`);
      }
}
