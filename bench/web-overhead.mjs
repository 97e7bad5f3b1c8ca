// The JavaScript cost of @spool/web's request scope alone, without sockets or a database: a fake
// request and response (an EventEmitter with what the scope reads) go through withScope (or
// spoolMiddleware) to a handler that answers at once (`await null; res.end()`), then the response
// emits 'close', as node:http does after 'finish'. Reports nanoseconds of CPU per request and, with
// --instructions, is meant to run under callgrind (a fixed number of requests, deterministic).
//
//   node bench/web-overhead.mjs [--n=200000] [--rounds=7] [--from=/other/checkout]
//   valgrind --tool=callgrind node --single-threaded bench/web-overhead.mjs --variant=withScope --n=20000 --rounds=1
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cliArgs } from './lib.mjs';

const args = cliArgs();
const N = Number(args.n ?? 200_000);
const ROUNDS = Number(args.rounds ?? 7);
const here = createRequire(import.meta.url);

function load(from) {
  const require = from ? createRequire(join(from, 'package.json')) : here;
  const connections = require('@spool/connections');
  connections.configure({ databases: { default: { client: 'better-sqlite3', connection: { filename: ':memory:' } } } });
  return { connections, web: require('@spool/web') };
}

class FakeResponse extends EventEmitter {
  writableFinished = false;
  headersSent = false;
  destroyed = false;
  statusCode = 200;
  setHeader() {}
  end() {
    this.writableFinished = true;
    this.headersSent = true;
    // node:http emits 'close' on the next tick after 'finish'.
    process.nextTick(emitClose, this);
    return this;
  }
}
function emitClose(res) {
  res.emit('close');
}

const handler = async (_req, res) => {
  await null;
  res.end();
};

/** Requests one after another: each waits for the previous one's close (as one keep-alive client). */
function variants(lib) {
  const { connections, web } = lib;
  const withScope = web.withScope(handler);
  const middleware = web.spoolMiddleware();
  return {
    plain: (req, res) => void handler(req, res),
    openScope: (req, res) => {
      const h = connections.openScope();
      res.once('close', () => void h.end());
      h.run(() => handler(req, res));
    },
    withScope,
    middleware: (req, res) => middleware(req, res, () => void handler(req, res)),
  };
}

async function run(fn, n) {
  for (let i = 0; i < n; i++) {
    const req = { method: 'GET', url: '/books?min=1', headers: {} };
    const res = new FakeResponse();
    const closed = new Promise((resolve) => res.once('close', resolve));
    fn(req, res);
    await closed;
  }
}

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// --lib=baseline: only the --from checkout's build (for a callgrind run of one build).
const libs = {};
if (args.lib !== 'baseline') libs.current = load(undefined);
if (typeof args.from === 'string' && args.lib !== 'current') libs.baseline = load(args.from);
const cases = {};
for (const [name, lib] of Object.entries(libs)) for (const [v, fn] of Object.entries(variants(lib))) cases[`${name} ${v}`] = fn;
const only = typeof args.variant === 'string' ? args.variant.split(',') : undefined;
const names = Object.keys(cases).filter((n) => !only || only.some((o) => n.endsWith(` ${o}`)));
const WARM = Number(args.warm ?? Math.min(N, 20_000));
for (const n of names) await run(cases[n], WARM); // warm up
const per = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (let j = 0; j < names.length; j++) {
    const name = names[(r + j) % names.length];
    const t0 = cpu();
    await run(cases[name], N);
    per[name].push(((cpu() - t0) * 1000) / N);
  }
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const n of names) {
  const v = per[n];
  console.log(
    `${n.padEnd(22)} ${median(v).toFixed(0).padStart(6)} ns/request CPU (rounds ${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)})`,
  );
}
