/**
 * The data layer: the shop's models. Each model is defined once; its TypeScript types (rows,
 * inserts, updates, lookups) are inferred from these definitions, and the schema editor (or a
 * migration) creates its table from them.
 *
 * Each model states its `name`: Spool otherwise learns a model's name from its class when the
 * class is first used, and a fresh process whose first request reaches a model only through a
 * relation (a product page resolving Product's reverse relations before OrderItem was touched)
 * would fail with ModelDefinitionError.
 */
import {
  CharField,
  DateTimeField,
  DecimalField,
  ForeignKey,
  IntegerField,
  ManyToManyField,
  Model,
  ReverseForeignKey,
  TextField,
  UniqueConstraint,
  minValue,
  ref,
  type Manager,
} from '@spool/orm';

export class Category extends Model.define(
  {
    slug: new CharField({ maxLength: 50, unique: true }),
    name: new CharField({ maxLength: 100 }),
    products: new ReverseForeignKey<Product>(() => Product, 'category'),
  },
  { name: 'Category', dbTable: 'shop_category', ordering: ['name'] },
) {}

export class Tag extends Model.define(
  { name: new CharField({ maxLength: 40, unique: true }) },
  { name: 'Tag', dbTable: 'shop_tag', ordering: ['name'] },
) {}

export class Product extends Model.define(
  {
    sku: new CharField({ maxLength: 32, unique: true }),
    name: new CharField({ maxLength: 200 }),
    description: new TextField({ default: '', blank: true }),
    price: new DecimalField({ maxDigits: 10, decimalPlaces: 2, validators: [minValue(0)] }),
    stock: new IntegerField({ default: 0, validators: [minValue(0)] }),
    // protect: a category that still has products cannot be deleted (ProtectedError, a 409).
    category: new ForeignKey(
      ref<Category>(() => Category),
      { onDelete: 'protect' },
    ),
    tags: new ManyToManyField(() => Tag, { relatedName: 'products' }),
    createdAt: new DateTimeField({ autoNowAdd: true }),
    updatedAt: new DateTimeField({ autoNow: true }),
  },
  { name: 'Product', dbTable: 'shop_product', ordering: ['name'] },
) {
  declare static objects: Manager<Product>;
}

export class Customer extends Model.define(
  {
    email: new CharField({ maxLength: 200, unique: true }),
    name: new CharField({ maxLength: 100 }),
    joinedAt: new DateTimeField({ autoNowAdd: true }),
  },
  { name: 'Customer', dbTable: 'shop_customer' },
) {}

export const ORDER_STATUSES = ['pending', 'confirmed'] as const;

export class Order extends Model.define(
  {
    customer: new ForeignKey(() => Customer, { onDelete: 'cascade' }),
    status: new CharField({ maxLength: 20, choices: ORDER_STATUSES, default: 'pending' }),
    // Filled in by the background job (jobs.ts) once the order committed.
    total: new DecimalField({ maxDigits: 12, decimalPlaces: 2, null: true }),
    placedAt: new DateTimeField({ autoNowAdd: true }),
    confirmedAt: new DateTimeField({ null: true }),
    items: new ReverseForeignKey<OrderItem>(() => OrderItem, 'order'),
  },
  { name: 'Order', dbTable: 'shop_order', ordering: ['-placedAt'] },
) {}

export class OrderItem extends Model.define(
  {
    order: new ForeignKey(
      ref<Order>(() => Order),
      { onDelete: 'cascade' },
    ),
    // protect: a product that was ordered cannot be deleted (a 409), its order lines stay.
    product: new ForeignKey(() => Product, { onDelete: 'protect' }),
    quantity: new IntegerField({ validators: [minValue(1)] }),
    unitPrice: new DecimalField({ maxDigits: 10, decimalPlaces: 2 }),
  },
  {
    name: 'OrderItem',
    dbTable: 'shop_order_item',
    constraints: [new UniqueConstraint({ fields: ['order', 'product'], name: 'shop_order_item_once' })],
  },
) {}

/** Every model, in creation order (the schema editor sorts by foreign keys anyway). */
export const MODELS = [Category, Tag, Product, Customer, Order, OrderItem];
