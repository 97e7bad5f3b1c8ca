/**
 * The transactional endpoint: placing an order takes stock from several products. All of it
 * happens in one `atomic()` block, so an order that cannot be served (one product short, a
 * product that does not exist) leaves no trace: no order row, no stock taken. Once the block has
 * committed, `onCommit` hands the order to a background job on the worker pool.
 */
import { Router } from 'express';
import { atomic, onCommit } from '@spool/connections';
import { F } from '@spool/orm';
import type { WorkerPool } from '@spool/workers';
import { BadRequest, OutOfStock } from '../http-errors';
import type { ConfirmOrderArgs, ConfirmOrderResult } from '../jobs';
import { Customer, Order, OrderItem, Product } from '../models';
import { orderJson } from '../serializers';
import { idParam } from './products';

export function orders(pool: WorkerPool<ConfirmOrderArgs, ConfirmOrderResult>, onJobError: (err: unknown) => void): Router {
  const router = Router();

  /** POST /orders { email, name, items: [{ productId, quantity }] } */
  router.post('/', async (req, res) => {
    const { email, name, lines } = orderInput(req.body);
    const order = await atomic(async () => {
      const [customer] = await Customer.objects.getOrCreate({ email }, { name });
      const placed = await Order.objects.create({ customer });
      for (const { productId, quantity } of lines) {
        // Lock the row (PostgreSQL, MariaDB) so two orders cannot both take the last item.
        const product = await Product.objects.selectForUpdate().get({ id: productId });
        const taken = await Product.objects.filter({ id: productId, stock__gte: quantity }).update({ stock: F('stock').sub(quantity) });
        if (taken === 0) throw new OutOfStock(productId, quantity); // rolls back everything above
        await OrderItem.objects.create({ order: placed, product, quantity, unitPrice: product.price });
      }
      // Only after COMMIT: a rolled-back order never reaches the job.
      await onCommit(() => void pool.run({ orderId: placed.id }, { name: `confirm order ${placed.id}` }).catch(onJobError));
      return placed;
    });
    const items = await OrderItem.objects.filter({ order: order.id }).orderBy('id');
    res.status(201).location(`/orders/${order.id}`).json(orderJson(order, items));
  });

  /** GET /orders/:id — its lines come from one more query. */
  router.get('/:id', async (req, res) => {
    const order = await Order.objects.get({ id: idParam(req) });
    const items = await OrderItem.objects.filter({ order: order.id }).orderBy('id');
    res.json(orderJson(order, items));
  });

  return router;
}

function orderInput(body: unknown): { email: string; name: string; lines: Array<{ productId: number; quantity: number }> } {
  const b = (body ?? {}) as { email?: unknown; name?: unknown; items?: unknown };
  const fields: Record<string, string[]> = {};
  if (typeof b.email !== 'string' || !b.email.includes('@')) fields.email = ['An email address is required.'];
  if (typeof b.name !== 'string' || b.name === '') fields.name = ['A name is required.'];
  const items = Array.isArray(b.items) ? (b.items as Array<{ productId?: unknown; quantity?: unknown }>) : [];
  if (items.length === 0) fields.items = ['At least one item is required.'];
  const lines = items.map((i) => ({ productId: Number(i.productId), quantity: Number(i.quantity) }));
  if (lines.some((l) => !Number.isSafeInteger(l.productId) || !Number.isSafeInteger(l.quantity) || l.quantity < 1)) {
    fields.items = ['Each item needs a productId and a quantity of at least 1.'];
  }
  if (new Set(lines.map((l) => l.productId)).size !== lines.length) fields.items = ['Each product may appear once.'];
  if (Object.keys(fields).length > 0) throw new BadRequest('Invalid order.', fields);
  return { email: b.email as string, name: b.name as string, lines };
}
