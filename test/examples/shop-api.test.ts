// examples/shop-api end to end, over real HTTP, on the three databases: the endpoints, their
// statuses (ValidationError 400, DoesNotExist 404, IntegrityError 409), filtering and pagination,
// the query count of the detail page, the transactional order endpoint (all or nothing) and its
// background job on a WorkerPool; the server-side connection count is 0 once the app stopped.
// The example's worker file runs from its build (examples/shop-api/dist/jobs.js).
// The database comes from @spool/testing as a user's suite would get it: useTestDatabase() creates
// this worker's test database and drops it after; its schema comes from the app's migrations,
// applied by `spool migrate` (the command line, in a child process, with the app's
// spool.config.ts and DATABASE_URL), as a deployment would; model rules are checked in
// transactionalTest()s, rolled back, so the HTTP tests only see committed rows.
import { execFileSync } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { atomic, connections, scope, type DatabaseSettings } from '@spool/connections';
import { IntegrityError, ValidationError } from '@spool/orm';
import { assertNumQueries, transactionalTest, useTestDatabase, withAdmin, type ConnectionCounter } from '@spool/testing';
import { createApp } from '../../examples/shop-api/src/app';
import { createJobsPool } from '../../examples/shop-api/src/jobs-pool';
import { Category, Customer, Order, OrderItem, Product } from '../../examples/shop-api/src/models';
import { eachDatabase } from '../support/helpers';

const SHOP = join(__dirname, '..', '..', 'examples', 'shop-api');
const SPOOL = join(__dirname, '..', '..', 'node_modules', '.bin', 'spool');

/** The app's DATABASE_URL for a database's settings (what settings.ts reads back). */
function databaseUrl(db: DatabaseSettings): string {
  if (db.client === 'better-sqlite3') return `sqlite:${(db.connection as { filename: string }).filename}`;
  if (typeof db.connection === 'string') return db.connection;
  const c = db.connection as { host: string; port: number; user: string; password?: string; database: string };
  const auth = encodeURIComponent(c.user) + (c.password ? `:${encodeURIComponent(c.password)}` : '');
  return `${db.client === 'pg' ? 'postgres' : 'mysql'}://${auth}@${c.host}:${c.port}/${encodeURIComponent(c.database)}`;
}

/** `npx spool migrate --json …` in examples/shop-api, on `url`; throws on a non-zero exit. */
function spoolMigrate(url: string, ...args: string[]): { steps?: Array<{ migration: string }>; plan?: unknown[] } {
  const out = execFileSync(SPOOL, ['migrate', '--json', ...args], {
    cwd: SHOP,
    env: { ...process.env, DATABASE_URL: url, NO_COLOR: '1' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out) as { steps?: Array<{ migration: string }>; plan?: unknown[] };
}

interface Reply {
  status: number;
  body: any;
}

eachDatabase('examples/shop-api', (db) => {
  let counter: ConnectionCounter;
  let server: Server;
  let base: string;
  let pool: ReturnType<typeof createJobsPool>;
  const jobErrors: unknown[] = [];
  const run = process.env.SPOOL_TEST_RUN ?? String(process.pid);
  const worker = process.env.JEST_WORKER_ID ?? '1';
  const testDb = `spool_${run}_${worker}_shop`;

  async function call(method: string, path: string, body?: unknown): Promise<Reply> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  beforeAll(async () => {
    await db.setup();
    counter = db.counter();
    // The worker's role may create (and drop) its test database, as an app's test user would.
    const role = db.settings().connection as string | { user?: string };
    const user = typeof role === 'string' ? decodeURIComponent(new URL(role).username) : (role.user as string);
    if (db.name === 'postgres') await withAdmin('postgres', (q) => q(`ALTER ROLE "${user}" CREATEDB`));
    if (db.name === 'mysql') await withAdmin('mysql', (q) => q(`GRANT ALL ON \`${testDb}\`.* TO '${user}'@'%'`));
  });

  let url = '';
  const testDatabase = useTestDatabase({
    settings: { databases: { default: db.settings({ maxAge: 60 }) } },
    name: (base) => (db.name === 'sqlite' ? `${base}-shop.sqlite3` : testDb),
    setup: async () => {
      url = databaseUrl(testDatabase.settings?.databases.default as DatabaseSettings);
      expect(spoolMigrate(url).steps?.map((s) => s.migration)).toEqual(['shop.0001_initial']);
    },
  });

  beforeAll(async () => {
    expect(spoolMigrate(url, '--check').plan).toEqual([]); // exit 0: nothing left to apply
    pool = createJobsPool(1);
    server = createApp({ pool, onJobError: (err) => jobErrors.push(err) }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await pool?.close({ deadlineMs: 5_000 });
    await counter?.close();
  });

  transactionalTest('model rules, in a rolled-back transaction: fullClean names the fields; an order lists a product once', async () => {
    const books = await Category.objects.create({ slug: 'tx-books', name: 'Books' });
    const bad = new Product({ sku: 'x'.repeat(40), name: 'Bad', price: '-1.00', category: books });
    const err = await bad.$fullClean().catch((e: unknown) => e);
    expect(ValidationError.is(err) && Object.keys(err.messageDict).sort()).toEqual(['price', 'sku']);
    const product = await Product.objects.create({ sku: 'TX-1', name: 'Tx', price: '1.00', category: books });
    const order = await Order.objects.create({ customer: await Customer.objects.create({ email: 'tx@example.com', name: 'Tx' }) });
    await OrderItem.objects.create({ order, product, quantity: 1, unitPrice: '1.00' });
    const twice = await atomic(() => OrderItem.objects.create({ order, product, quantity: 2, unitPrice: '1.00' })).catch((e: unknown) => e);
    expect(IntegrityError.is(twice)).toBe(true); // shop_order_item_once, rolled back to its savepoint
    expect(await OrderItem.objects.filter({ order }).count()).toBe(1);
  });

  test('the rolled-back rows are gone: the HTTP tests start from an empty shop', async () => {
    expect(await scope(() => Category.objects.count())).toBe(0);
  });

  test('categories and products: 201s, a taken slug is 409, invalid input 400 naming the fields, unknown ids 404', async () => {
    expect((await call('POST', '/categories', { slug: 'books', name: 'Books' })).status).toBe(201);
    expect((await call('POST', '/categories', { slug: 'tools', name: 'Tools' })).status).toBe(201);
    const taken = await call('POST', '/categories', { slug: 'books', name: 'Again' });
    expect(taken.status).toBe(409); // the database's unique constraint: IntegrityError
    expect(taken.body.error).toBe('conflict');

    const created = await call('POST', '/products', {
      sku: 'BK-1',
      name: 'Spool in Action',
      price: '39.90',
      stock: 5,
      category: 'books',
      tags: ['new', 'db'],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      sku: 'BK-1',
      price: '39.90',
      stock: 5,
      category: { slug: 'books', name: 'Books' },
      tags: ['db', 'new'],
    });
    expect(Date.parse(created.body.createdAt)).toBeGreaterThan(Date.now() - 60_000);

    const invalid = await call('POST', '/products', { sku: 'BK-1', name: 'x'.repeat(201), price: '-1', category: 'books' });
    expect(invalid.status).toBe(400); // $fullClean(): one ValidationError, messages per field
    expect(Object.keys(invalid.body.fields).sort()).toEqual(['name', 'price', 'sku']);
    expect((await call('POST', '/products', { sku: 'X', name: 'x', price: '1', category: 'nope' })).body).toEqual({
      error: "Unknown category 'nope'.",
      fields: { category: ["No category 'nope'."] },
    });
    expect((await call('GET', '/products/999999')).status).toBe(404);
    expect((await call('GET', '/products/abc')).status).toBe(400);
    expect((await call('PATCH', '/products/999999', { stock: 1 })).status).toBe(404);
  });

  test('the list filters, orders and paginates; the detail page runs 2 queries (join + prefetch)', async () => {
    for (let i = 1; i <= 24; i++) {
      const r = await call('POST', '/products', {
        sku: `TL-${String(i).padStart(2, '0')}`,
        name: `Tool ${String(i).padStart(2, '0')}${i % 4 === 0 ? ' deluxe' : ''}`,
        price: `${i}.50`,
        stock: i % 3 === 0 ? 0 : 10,
        category: 'tools',
        tags: i % 2 === 0 ? ['even'] : [],
      });
      expect(r.status).toBe(201);
    }
    const page2 = await call('GET', '/products?category=tools&pageSize=10&page=2&ordering=price');
    expect(page2.status).toBe(200);
    expect(page2.body.total).toBe(24);
    expect(page2.body.items.map((p: { sku: string }) => p.sku)).toEqual(Array.from({ length: 10 }, (_, i) => `TL-${i + 11}`));
    const page3 = await call('GET', '/products?category=tools&pageSize=10&page=3&ordering=price');
    expect(page3.body.items).toHaveLength(4);

    const filtered = await call('GET', '/products?q=DELUXE&tag=even&minPrice=8&maxPrice=20.50&inStock=true&ordering=-price');
    // deluxe = multiples of 4; 8.50..20.50 → 8, 12, 16, 20; in stock drops 12 (a multiple of 3)
    expect(filtered.body.items.map((p: { sku: string; price: string }) => [p.sku, p.price])).toEqual([
      ['TL-20', '20.50'],
      ['TL-16', '16.50'],
      ['TL-08', '8.50'],
    ]);
    expect((await call('GET', '/products?ordering=drop')).status).toBe(400);
    expect((await call('GET', '/products?pageSize=500')).status).toBe(400);

    const id = page2.body.items[0].id as number;
    const detail = await assertNumQueries(2, () => call('GET', `/products/${id}`));
    expect(detail.body).toMatchObject({ id, sku: 'TL-11', category: { slug: 'tools' }, tags: [] });
  });

  test('update and delete: 200 / 400 / 409 (a taken sku) / 204, then 404', async () => {
    const list = await call('GET', '/products?category=tools&ordering=name&pageSize=2');
    const [a, b] = list.body.items as Array<{ id: number; sku: string }>;
    const updated = await call('PATCH', `/products/${a!.id}`, { price: '99.00', tags: ['sale'], category: 'books' });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ price: '99.00', tags: ['sale'], category: { slug: 'books' } });
    expect(Date.parse(updated.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(updated.body.createdAt));
    expect((await call('PATCH', `/products/${a!.id}`, { stock: -3 })).body.fields).toEqual({ stock: [expect.any(String)] });
    // A taken sku through $fullClean is a 400; straight into the unique constraint it would be a 409.
    expect((await call('PATCH', `/products/${a!.id}`, { price: 'cheap' })).status).toBe(400);
    expect((await call('DELETE', `/products/${b!.id}`)).status).toBe(204);
    expect((await call('GET', `/products/${b!.id}`)).status).toBe(404);
    expect((await call('DELETE', `/products/${b!.id}`)).status).toBe(404);
  });

  test('orders are all or nothing: one line short rolls back the whole order (409); a placed order is confirmed by the background job', async () => {
    const product = await call('POST', '/products', { sku: 'ORD-1', name: 'Orderable', price: '12.25', stock: 3, category: 'books' });
    const other = await call('POST', '/products', { sku: 'ORD-2', name: 'Scarce', price: '1.00', stock: 1, category: 'books' });
    const stockOf = (id: number): Promise<number> => scope(async () => (await Product.objects.get({ id })).stock);
    const orders = (): Promise<number> => scope(() => Order.objects.count());
    const before = await orders();

    const short = await call('POST', '/orders', {
      email: 'ann@example.com',
      name: 'Ann',
      items: [
        { productId: product.body.id, quantity: 2 },
        { productId: other.body.id, quantity: 2 },
      ],
    });
    expect(short.status).toBe(409);
    expect(short.body.productId).toBe(other.body.id);
    expect(await stockOf(product.body.id)).toBe(3); // the first line's stock came back
    expect(await orders()).toBe(before);
    expect((await call('POST', '/orders', { email: 'nobody', items: [] })).body.fields).toEqual({
      email: ['An email address is required.'],
      name: ['A name is required.'],
      items: ['At least one item is required.'],
    });
    expect((await call('POST', '/orders', { email: 'a@b.c', name: 'A', items: [{ productId: 999999, quantity: 1 }] })).status).toBe(404);

    const placed = await call('POST', '/orders', {
      email: 'ann@example.com',
      name: 'Ann',
      items: [
        { productId: product.body.id, quantity: 2 },
        { productId: other.body.id, quantity: 1 },
      ],
    });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ status: 'pending', total: null, items: [{ quantity: 2, unitPrice: '12.25' }, { quantity: 1 }] });
    expect(await stockOf(product.body.id)).toBe(1);
    expect(await stockOf(other.body.id)).toBe(0);
    // The job runs in a worker thread after COMMIT; wait for it (bounded).
    const deadline = Date.now() + 10_000;
    let order = placed.body;
    while (order.status !== 'confirmed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      order = (await call('GET', `/orders/${placed.body.id}`)).body;
    }
    expect(order).toMatchObject({ status: 'confirmed', total: '25.50' });
    expect(jobErrors).toEqual([]);
  });

  test('after the app stops, no connection is left open on the server', async () => {
    await call('GET', '/products');
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await pool.close({ deadlineMs: 5_000 });
    await connections.shutdown();
    expect(await counter.waitForCount(0, 5_000)).toBe(0);
    // useTestDatabase() configures nothing more after this; its afterAll drops the database.
  });
});
