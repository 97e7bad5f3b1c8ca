/**
 * The product endpoints: a filtered, paginated list; a detail page with its related rows; create,
 * update and delete. Handlers only query and shape; errors are thrown as they are (a model's
 * `DoesNotExist`, `ValidationError`, `IntegrityError`) and mapped to statuses by http-errors.ts.
 */
import { Router, type Request } from 'express';
import { Q, type QuerySet } from '@spool/orm';
import { BadRequest } from '../http-errors';
import { Category, Product, Tag } from '../models';
import { productDetailJson, productSummaryJson } from '../serializers';

export const products = Router();

const ORDERINGS = ['name', '-name', 'price', '-price', 'createdAt', '-createdAt', 'stock', '-stock'] as const;
type Ordering = (typeof ORDERINGS)[number];

/**
 * GET /products?category=slug&tag=name&q=text&minPrice=1.50&maxPrice=20&inStock=true
 *               &ordering=-price&page=2&pageSize=20
 */
products.get('/', async (req, res) => {
  const q = req.query;
  let qs: QuerySet<Product> = Product.objects.all();
  if (typeof q.category === 'string') qs = qs.filter({ category__slug: q.category });
  if (typeof q.tag === 'string') qs = qs.filter({ tags__name: q.tag }).distinct();
  if (typeof q.q === 'string' && q.q !== '') qs = qs.filter(Q<Product>({ name__icontains: q.q }).or({ description__icontains: q.q }));
  if (q.minPrice !== undefined) qs = qs.filter({ price__gte: decimalParam(req, 'minPrice') });
  if (q.maxPrice !== undefined) qs = qs.filter({ price__lte: decimalParam(req, 'maxPrice') });
  if (q.inStock === 'true') qs = qs.filter({ stock__gt: 0 });
  const ordering = (q.ordering ?? 'name') as Ordering;
  if (!ORDERINGS.includes(ordering)) throw new BadRequest(`ordering must be one of ${ORDERINGS.join(', ')}.`);
  const page = intParam(req, 'page', 1, 1, 10_000);
  const pageSize = intParam(req, 'pageSize', 20, 1, 100);
  const start = (page - 1) * pageSize;
  // Both queries run on this request's connection, one after the other.
  const [total, items] = await Promise.all([qs.count(), qs.orderBy(ordering, 'id').slice(start, start + pageSize)]);
  res.json({ page, pageSize, total, items: items.map(productSummaryJson) });
});

/** GET /products/:id — one query for product + category (a join), one for its tags. */
products.get('/:id', async (req, res) => {
  const product = await Product.objects
    .selectRelated('category')
    .prefetchRelated('tags')
    .get({ id: idParam(req) });
  res.json(productDetailJson(product));
});

/** POST /products { sku, name, price, stock?, description?, category: slug, tags?: [names] } */
products.post('/', async (req, res) => {
  const body = objectBody(req);
  const category = await categoryFor(body.category);
  const product = new Product({
    sku: stringField(body, 'sku'),
    name: stringField(body, 'name'),
    description: typeof body.description === 'string' ? body.description : '',
    price: decimalField(body, 'price'),
    stock: body.stock === undefined ? 0 : intField(body, 'stock'),
    category,
  });
  await product.$fullClean(); // ValidationError per field (lengths, minimums, a taken sku)
  await product.$save(); // IntegrityError if another request took the sku meanwhile
  if (Array.isArray(body.tags)) await product.tags.set(await tagsNamed(body.tags));
  const created = await Product.objects.selectRelated('category').prefetchRelated('tags').get({ id: product.id });
  res.status(201).location(`/products/${product.id}`).json(productDetailJson(created));
});

/** PATCH /products/:id { any of name, description, price, stock, category, tags } */
products.patch('/:id', async (req, res) => {
  const body = objectBody(req);
  const product = await Product.objects.get({ id: idParam(req) });
  if (body.name !== undefined) product.name = stringField(body, 'name');
  if (body.description !== undefined) product.description = stringField(body, 'description');
  if (body.price !== undefined) product.price = decimalField(body, 'price');
  if (body.stock !== undefined) product.stock = intField(body, 'stock');
  if (body.category !== undefined) product.category = await categoryFor(body.category);
  await product.$fullClean();
  await product.$save();
  if (Array.isArray(body.tags)) await product.tags.set(await tagsNamed(body.tags));
  const updated = await Product.objects.selectRelated('category').prefetchRelated('tags').get({ id: product.id });
  res.json(productDetailJson(updated));
});

/** DELETE /products/:id — a product that was ordered is protected (409). */
products.delete('/:id', async (req, res) => {
  const product = await Product.objects.get({ id: idParam(req) });
  await product.$delete();
  res.status(204).end();
});

// ---- input ------------------------------------------------------------------------------------

async function categoryFor(slug: unknown): Promise<Category> {
  if (typeof slug !== 'string') throw new BadRequest('category (a slug) is required.', { category: ['This field is required.'] });
  const category = await Category.objects.filter({ slug }).first();
  if (!category) throw new BadRequest(`Unknown category '${slug}'.`, { category: [`No category '${slug}'.`] });
  return category;
}

async function tagsNamed(names: unknown[]): Promise<Tag[]> {
  const tags: Tag[] = [];
  for (const name of names) {
    if (typeof name !== 'string' || name === '') throw new BadRequest('tags must be a list of names.', { tags: ['Expected names.'] });
    tags.push((await Tag.objects.getOrCreate({ name }))[0]);
  }
  return tags;
}

function objectBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('The body must be a JSON object.');
  return body as Record<string, unknown>;
}

function stringField(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string') throw new BadRequest(`${key} must be a string.`, { [key]: ['Expected a string.'] });
  return v;
}

function intField(body: Record<string, unknown>, key: string): number {
  const v = body[key];
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new BadRequest(`${key} must be an integer.`, { [key]: ['Expected an integer.'] });
  return v;
}

const DECIMAL = /^-?\d{1,10}(\.\d{1,2})?$/;

function decimalField(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  const text = typeof v === 'number' ? String(v) : v;
  if (typeof text !== 'string' || !DECIMAL.test(text)) {
    throw new BadRequest(`${key} must be a decimal such as "12.50".`, { [key]: ['Expected a decimal.'] });
  }
  return text;
}

function decimalParam(req: Request, key: string): string {
  const v = req.query[key];
  if (typeof v !== 'string' || !DECIMAL.test(v)) throw new BadRequest(`${key} must be a decimal such as 12.50.`);
  return v;
}

function intParam(req: Request, key: string, fallback: number, min: number, max: number): number {
  const v = req.query[key];
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) throw new BadRequest(`${key} must be an integer from ${min} to ${max}.`);
  return n;
}

export function idParam(req: Request): number {
  const raw = req.params.id;
  const id = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw new BadRequest(`Not an id: '${String(raw)}'.`);
  return id;
}
