/**
 * The representation layer: what the API sends for each model. Explicit, so that a new column
 * never leaks into responses by accident.
 */
import type { Category, Order, OrderItem, Product, Tag } from './models';

export function categoryJson(c: Category): { id: number; slug: string; name: string } {
  return { id: c.id, slug: c.slug, name: c.name };
}

/** A product in a list: its category as an id (no join needed). */
export function productSummaryJson(p: Product): Record<string, unknown> {
  return { id: p.id, sku: p.sku, name: p.name, price: p.price, stock: p.stock, categoryId: p.categoryId };
}

/** A product on its own page: category and tags loaded by selectRelated / prefetchRelated. */
export function productDetailJson(p: Product): Record<string, unknown> {
  return {
    ...productSummaryJson(p),
    description: p.description,
    category: categoryJson(p.category),
    tags: p.tags.items.map((t: Tag) => t.name),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

export function orderJson(o: Order, items: OrderItem[]): Record<string, unknown> {
  return {
    id: o.id,
    customerId: o.customerId,
    status: o.status,
    total: o.total,
    placedAt: o.placedAt.toISOString(),
    confirmedAt: o.confirmedAt ? o.confirmedAt.toISOString() : null,
    items: items.map((i) => ({ productId: i.productId, quantity: i.quantity, unitPrice: i.unitPrice })),
  };
}
