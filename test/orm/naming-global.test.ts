// setNamingStrategy(): one strategy for every model defined afterwards, as a project sets it in a
// module imported before its models (this file defines its own models, after the call; jest
// gives each test file its own module registry). Once models exist it cannot change under them.
import { ConfigError, atomic, scope, setRollback, shutdown, sql } from '@spool/connections';
import {
  CharField,
  ForeignKey,
  IntegerField,
  Model,
  SchemaEditor,
  UnderscoreNamingStrategy,
  namingStrategy,
  setNamingStrategy,
} from '@spool/orm';
import { introspectionFor } from '@spool/orm/migrations';
import { configureFor, eachDatabase } from '../support/helpers';

/** Plural tables with a prefix, snake_case columns, keys as `<field>_key`. */
class ShopNaming extends UnderscoreNamingStrategy {
  override tableName(modelName: string): string {
    return `ng_${super.tableName(modelName)}s`;
  }
  override foreignKeyColumnName(fieldName: string): string {
    return `${super.columnName(fieldName)}_key`;
  }
}
const shop = new ShopNaming();
setNamingStrategy(shop);

class Customer extends Model.define({ firstName: new CharField({ maxLength: 50 }) }) {}
class OrderLine extends Model.define({
  placedBy: new ForeignKey(() => Customer, { onDelete: 'cascade' }),
  totalCents: new IntegerField(),
}) {}

const inTx = <T>(fn: () => Promise<T>) =>
  scope(() =>
    atomic(async () => {
      try {
        return await fn();
      } finally {
        setRollback(true);
      }
    }),
  );

test('the strategy set first names the models defined after it; it cannot change once they exist', () => {
  expect(namingStrategy()).toBe(shop);
  expect([Customer.$meta.dbTable, OrderLine.$meta.dbTable]).toEqual(['ng_customers', 'ng_order_lines']);
  expect(OrderLine.$meta.fields.map((f) => f.column)).toEqual(['id', 'placed_by_key', 'total_cents']);
  setNamingStrategy(shop); // the same strategy again changes nothing
  expect(() => setNamingStrategy(new UnderscoreNamingStrategy())).toThrow(
    new ConfigError(
      'setNamingStrategy() must run before the models are defined: Customer, OrderLine already named their columns with ShopNaming. Call it in a module imported before your models, or give each model its own { namingStrategy }.',
    ),
  );
  expect(namingStrategy()).toBe(shop);
});

eachDatabase('naming: setNamingStrategy()', (db) => {
  beforeAll(async () => {
    await db.setup();
    configureFor(db);
    await scope(async () => {
      const editor = new SchemaEditor();
      await editor.deleteModels([Customer, OrderLine], { ifExists: true });
      await editor.createModels([Customer, OrderLine]);
    });
  });
  afterAll(async () => {
    await scope(() => new SchemaEditor().deleteModels([Customer, OrderLine], { ifExists: true }));
    await shutdown();
  });

  test('the tables and columns follow it; the ORM and raw SQL meet on them', () =>
    inTx(async () => {
      expect((await introspectionFor('default').columns('ng_order_lines')).map((c) => c.name)).toEqual([
        'id',
        'placed_by_key',
        'total_cents',
      ]);
      const ann = await Customer.objects.create({ firstName: 'Ann' });
      await OrderLine.objects.create({ placedBy: ann, totalCents: 1250 });
      await sql`INSERT INTO ng_order_lines (placed_by_key, total_cents) VALUES (${ann.id}, ${300})`;
      const rows = await sql<{ first_name: string; n: number; total: number }>`
        SELECT c.first_name, count(*) AS n, sum(o.total_cents) AS total
        FROM ng_order_lines o JOIN ng_customers c ON c.id = o.placed_by_key GROUP BY c.first_name`;
      expect(rows.map((r) => [r.first_name, Number(r.n), Number(r.total)])).toEqual([['Ann', 2, 1550]]);
      expect(
        await OrderLine.objects.filter({ placedBy__firstName: 'Ann' }).orderBy('totalCents').valuesList('totalCents', { flat: true }),
      ).toEqual([300, 1250]);
    }));
});
