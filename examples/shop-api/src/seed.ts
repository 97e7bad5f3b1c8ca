/** Sample data for a first run, so that `npm start` has something to show. */
import { atomic, scope } from '@spool/connections';
import { Category, Product, Tag } from './models';

export function seed(): Promise<void> {
  return scope(
    () =>
      atomic(async () => {
        const books = await Category.objects.create({ slug: 'books', name: 'Books' });
        const tools = await Category.objects.create({ slug: 'tools', name: 'Tools' });
        const [sale] = await Tag.objects.getOrCreate({ name: 'sale' });
        const spool = await Product.objects.create({
          sku: 'BK-001',
          name: 'Two Scoops of Spool',
          price: '39.90',
          stock: 12,
          category: books,
        });
        await Product.objects.create({
          sku: 'BK-002',
          name: 'Connections that Follow the Work',
          price: '24.00',
          stock: 3,
          category: books,
        });
        await Product.objects.create({ sku: 'TL-001', name: 'Thread Spool, 500 m', price: '4.50', stock: 200, category: tools });
        await spool.tags.add(sale);
      }),
    { name: 'seed' },
  );
}
