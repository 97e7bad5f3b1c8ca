// The debug page in a real browser (Debian's chromium, driven by playwright-core): it loads while
// HTTP requests and a WorkerPool run; it shows the recent requests with their SQL, a leak with
// its stack, a chart per alias; and once the load stops, the figures it
// shows per thread and alias are exactly those of connections.stats({ everywhere: true }).
// Access control without a browser: off unless enabled, local clients only unless authorised.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import Fastify from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { connections, sql } from '@spool/connections';
import { spoolDebug, spoolDebugPlugin, spoolMiddleware } from '@spool/web';
import { WorkerPool } from '@spool/workers';
import { configureFor, eachDatabase, sleep, useDatabase } from '../support/helpers';

const CHROMIUM = '/usr/bin/chromium';
const FIGURES = ['open', 'leased', 'idle', 'opening', 'waiting', 'max', 'waits', 'timeouts', 'leaks', 'queries', 'errors'] as const;
type Figures = Record<(typeof FIGURES)[number], number>;

async function launch(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'spool-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The figures the page shows for `alias`: thread id (or 'total') → figures. */
async function shownFigures(page: Page, alias: string): Promise<Record<string, Figures>> {
  return page.$$eval(
    `table[data-alias="${alias}"] tbody tr`,
    (rows, fields) =>
      Object.fromEntries(
        rows.map((tr) => [
          tr.getAttribute('data-thread') as string,
          Object.fromEntries((fields as string[]).map((f) => [f, Number(tr.querySelector(`td[data-field="${f}"]`)?.textContent)])),
        ]),
      ),
    FIGURES as unknown as string[],
  ) as Promise<Record<string, Figures>>;
}

/** The same, from `connections.stats({ everywhere: true })`. */
async function statsFigures(alias: string): Promise<Record<string, Figures>> {
  const stats = await connections.stats({ everywhere: true });
  const out: Record<string, Figures> = {};
  const total = Object.fromEntries(FIGURES.map((f) => [f, 0])) as Figures;
  for (const t of stats.threads) {
    const s = t.aliases[alias];
    if (!s) continue;
    out[String(t.threadId)] = Object.fromEntries(FIGURES.map((f) => [f, s[f]])) as Figures;
    for (const f of FIGURES) total[f] += s[f];
  }
  out.total = total;
  return out;
}

const workerTask = join(__dirname, '..', 'workers', 'fixtures', 'query-task.js');

eachDatabase('debug page', (db) => {
  const counter = useDatabase(db);

  test('a browser shows live requests, worker connections, a leak and a chart; at rest its figures equal stats()', async () => {
    configureFor(db, { maxAge: 60, leakThresholdMs: 250, max: 4 });
    const app = express();
    app.use(spoolMiddleware());
    app.use('/_spool', spoolDebug({ enabled: true, intervalMs: 150 }));
    app.get('/q/:i', async (req, res) => {
      const rows = await sql<{ n: number }>`SELECT ${Number(req.params.i)} AS n`;
      await sql`SELECT 2 AS second_query`;
      res.json(rows);
    });
    app.get('/hold', async (_req, res) => {
      await sql`SELECT 'held' AS leaked_here`; // holds the connection past leakThresholdMs
      await sleep(500);
      res.end('released');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pool = new WorkerPool({ filename: workerTask, workers: 2, databases: { default: { maxAge: null } } });
    const browser = await launch();
    const pageErrors: string[] = [];
    const foreign: string[] = [];
    let loading = true;
    try {
      const page = await browser.context.newPage();
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('request', (r) => void (r.url().startsWith(base) || foreign.push(r.url())));
      const load = (async () => {
        let i = 0;
        while (loading) {
          await Promise.all([
            ...Array.from({ length: 4 }, () => fetch(`${base}/q/${++i}`).then((r) => r.text())),
            pool.run({ i, db: db.name, op: 'query', ms: 20 }),
            pool.run({ i: i + 1, db: db.name, op: 'query', ms: 20 }),
          ]);
        }
      })();
      await page.goto(`${base}/_spool`); // redirected to /_spool/
      expect(page.url()).toBe(`${base}/_spool/`);
      await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
      // Requests with their queries, while the load runs.
      await page.waitForSelector('details[data-request] tr[data-query]', { state: 'attached', timeout: 10_000 });
      const sqls = await page.$$eval('details[data-request] td.sql', (tds) => tds.map((t) => t.textContent ?? ''));
      expect(sqls.some((s) => s.includes('AS second_query'))).toBe(true);
      const summaries = await page.$$eval('details[data-request] summary', (s) => s.map((x) => x.textContent ?? ''));
      expect(summaries.some((s) => /^GET \/q\/\d+ — 200 — \d+ ms — 2 queries$/.test(s))).toBe(true);
      // The pool's workers show up as threads of the 'default' alias.
      // (Selectors, not page functions: the page's Content-Security-Policy forbids eval.)
      await page.waitForSelector('table[data-alias="default"] tbody tr:nth-child(4)', { state: 'attached', timeout: 10_000 });
      // A leak, with the stack of where the connection was leased.
      expect(await (await fetch(`${base}/hold`)).text()).toBe('released');
      // (Under load a /q request may pass the threshold too: look for /hold's.)
      const leak = 'details[data-leak-scope]:has(summary:has-text("GET /hold"))';
      await page.waitForSelector(leak, { state: 'attached', timeout: 10_000 });
      expect(await page.$eval(`${leak} summary`, (s) => s.textContent)).toMatch(/'GET \/hold' held 'default' for \d+ ms/);
      // The stack of where the scope leased (for a request: where its scope was opened).
      expect(await page.$eval(`${leak} pre`, (p) => p.textContent)).toMatch(/\n\s+at \S/);
      // What a reader opened stays open while new leaks, requests and samples arrive (the page adds
      // them one by one; it redrew the whole list per event, which closed it and churned the DOM).
      const opened = await page.$eval(leak, (d) => {
        d.setAttribute('open', ''); // as a click on its summary does
        return d.getAttribute('data-leak-scope');
      });
      expect(await (await fetch(`${base}/hold`)).text()).toBe('released');
      await page.waitForSelector(`details[data-leak-scope]:not([data-leak-scope="${opened}"]):has(summary:has-text("GET /hold"))`, {
        state: 'attached',
        timeout: 10_000,
      });
      expect(await page.$eval(`details[data-leak-scope="${opened}"]`, (d) => d.hasAttribute('open'))).toBe(true);

      loading = false;
      await load;
      // At rest: the page's latest sample equals stats() (waited for with a deadline: the page
      // samples every 150 ms).
      const deadline = Date.now() + 10_000;
      let shown: Record<string, Figures> = {};
      let actual: Record<string, Figures> = {};
      do {
        await sleep(100);
        actual = await statsFigures('default');
        shown = await shownFigures(page, 'default');
      } while (JSON.stringify(shown) !== JSON.stringify(actual) && Date.now() < deadline);
      expect(shown).toEqual(actual);
      expect(Object.keys(shown).length).toBeGreaterThanOrEqual(4); // main + 2 workers + total
      expect(shown.total!.open).toBeGreaterThanOrEqual(3); // kept idle: maxAge 60 (main), null (workers)
      expect(shown.total!.leaks).toBeGreaterThanOrEqual(1);
      // The chart: one polyline per series over the samples taken.
      // (Read in one go: a new sample may redraw the chart between two reads.)
      const chart = await page.$eval('svg.chart[data-alias="default"]', (svg) => ({
        points: Number(svg.getAttribute('data-points')),
        series: Array.from(svg.querySelectorAll('polyline') as ArrayLike<{ getAttribute(name: string): string | null }>).map((p) => [
          p.getAttribute('data-series'),
          p.getAttribute('points')?.split(' ').length,
        ]),
      }));
      expect(chart.points).toBeGreaterThan(3);
      expect(chart.series).toEqual(['open', 'leased', 'idle', 'waiting'].map((s) => [s, chart.points]));
      expect(pageErrors).toEqual([]);
      expect(foreign).toEqual([]); // self-contained: nothing loaded from elsewhere
    } finally {
      loading = false;
      await browser.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await pool.close({ deadlineMs: 5_000 });
    }
    await connections.shutdown();
    expect(await counter.waitForCount(0, 5_000)).toBe(0);
  }, 90_000);
});

describe('debug page access', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    connections.configure({ databases: { default: { client: 'better-sqlite3', connection: { filename: ':memory:' } } } });
    const app = express();
    app.use('/open', spoolDebug({ enabled: true }));
    app.use('/off', spoolDebug({ enabled: false }));
    app.use('/vetted', spoolDebug({ enabled: true, authorize: (req) => req.headers['x-debug-token'] === 'let-me-in' }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await connections.shutdown();
  });

  test('off unless enabled: the route passes on (Express answers 404)', async () => {
    expect((await fetch(`${base}/off/`)).status).toBe(404);
  });

  test('local clients get the page; a proxied request is not local (403, saying how to let it in)', async () => {
    const page = await fetch(`${base}/open/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain('<title>Spool: connections</title>');
    const proxied = await fetch(`${base}/open/`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(proxied.status).toBe(403);
    expect(await proxied.text()).toBe(
      'Forbidden: the Spool debug page only answers local clients (127.0.0.1, ::1, not through a proxy). Pass spoolDebug({ authorize(req) { … } }) to let others in.',
    );
  });

  test('authorize() replaces the local rule', async () => {
    const refused = await fetch(`${base}/vetted/`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe('Forbidden: the authorize() check given to spoolDebug() refused this request.');
    const allowed = await fetch(`${base}/vetted/snapshot`, { headers: { 'x-debug-token': 'let-me-in', 'x-forwarded-for': '203.0.113.9' } });
    expect(allowed.status).toBe(200);
    expect(Object.keys((await allowed.json()) as object).sort()).toEqual(['intervalMs', 'leaks', 'requests', 'samples', 'waits']);
  });

  test('node:http (mount) and Fastify (prefix) serve the same page', async () => {
    const handle = spoolDebug({ enabled: true, mount: '/debug' });
    const plain = http.createServer((req, res) => (req.url?.startsWith('/debug') ? handle(req, res) : res.end('app')));
    plain.listen(0, '127.0.0.1');
    await new Promise((resolve) => plain.once('listening', resolve));
    const fastify = Fastify();
    await fastify.register(spoolDebugPlugin, { prefix: '/_spool', enabled: true });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    try {
      const p = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
      expect((await fetch(`${p}/debug`, { redirect: 'manual' })).headers.get('location')).toBe('/debug/');
      expect((await fetch(`${p}/debug/`)).headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect((await fetch(`${p}/debug/snapshot`)).status).toBe(200);
      const f = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;
      expect((await fetch(`${f}/_spool`, { redirect: 'manual' })).headers.get('location')).toBe('/_spool/');
      expect(await (await fetch(`${f}/_spool/`)).text()).toContain('<title>Spool: connections</title>');
      expect((await fetch(`${f}/_spool/snapshot`)).status).toBe(200);
      expect((await fetch(`${f}/_spool/nothing`)).status).toBe(404);
    } finally {
      await fastify.close();
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  test('options are validated and name what was wrong', () => {
    expect(() => spoolDebug({ enable: true } as never)).toThrow(
      "Unknown option 'enable' for spoolDebug(). Valid options: 'enabled', 'authorize', 'mount', 'intervalMs', 'maxSamples', 'handler', 'title'.",
    );
    expect(() => spoolDebug({ intervalMs: 10 })).toThrow("spoolDebug() option 'intervalMs' must be an integer >= 50, got 10.");
    expect(() => spoolDebug({ mount: 'debug' })).toThrow("spoolDebug() option 'mount' must be a path starting with '/', got debug.");
  });
});
