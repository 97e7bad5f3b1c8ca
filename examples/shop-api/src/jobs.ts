/**
 * Background jobs: the worker file of the app's `WorkerPool`. Each call runs in its own scope in a
 * worker thread (connections leased on first query, released when it ends) and, with
 * `atomic: true`, in its own transaction. The database settings arrive from the pool: no
 * `configure()` here.
 */
import { task } from '@spool/workers';
import { Order, OrderItem } from './models';

/** What `confirmOrder` receives. */
export interface ConfirmOrderArgs {
  orderId: number;
}

/** What it returns. */
export interface ConfirmOrderResult {
  orderId: number;
  total: string;
}

/** Price an order committed by `POST /orders`, and mark it confirmed. */
export const confirmOrder = task(
  async ({ orderId }: ConfirmOrderArgs): Promise<ConfirmOrderResult> => {
    const items = await OrderItem.objects.filter({ order: orderId });
    // Decimal columns are strings ('12.50'): add in cents, no float rounding.
    const cents = items.reduce((sum, item) => sum + item.quantity * toCents(item.unitPrice), 0);
    const total = `${Math.trunc(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    await Order.objects.filter({ id: orderId }).update({ status: 'confirmed', total, confirmedAt: new Date() });
    return { orderId, total };
  },
  { name: 'confirmOrder', atomic: true },
);

export default confirmOrder;

function toCents(decimal: string): number {
  const [units = '0', fraction = ''] = decimal.split('.');
  return Number(units) * 100 + Number(fraction.padEnd(2, '0').slice(0, 2));
}
