/**
 * `Model.objects`: the entry point of queries (Django's `Manager`). Each method starts a new
 * query set (`Author.objects.filter(...)` is `Author.objects.all().filter(...)`), so a manager
 * never caches rows. Subclass it and override `getQuerySet()` for a custom default query.
 */
import { ModelMeta, metaOfClass } from '../models/model-meta';
import type { AnyInstance, FieldsOf, InsertOf, RowOf, Simplify, Empty } from '../types';
import { QuerySet } from './query-set';
import { RawQuerySet } from './raw-query-set';
import type { SqlFragment } from '@spool/connections';

/** The query set methods a manager forwards. */
export const MANAGER_METHODS = [
  'filter',
  'exclude',
  'orderBy',
  'reverse',
  'distinct',
  'slice',
  'limit',
  'offset',
  'none',
  'using',
  'selectRelated',
  'prefetchRelated',
  'selectForUpdate',
  'annotate',
  'values',
  'valuesList',
  'get',
  'first',
  'last',
  'count',
  'exists',
  'aggregate',
  'update',
  'delete',
  'inBulk',
  'iterator',
  'bulkCreate',
  'bulkUpdate',
  'getOrCreate',
  'updateOrCreate',
  'toSQL',
] as const;

type Forwarded<I extends AnyInstance> = Pick<QuerySet<I, I, Empty>, (typeof MANAGER_METHODS)[number]>;

// The interface gives the class the types of the query set methods it forwards (installed on its
// prototype below); it must repeat the class's type parameters, so C is unused here.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars
export interface Manager<I extends AnyInstance, C = InsertOf<FieldsOf<I>>> extends Forwarded<I> {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Manager<I extends AnyInstance, C = InsertOf<FieldsOf<I>>> {
  /** @internal */
  readonly meta: ModelMeta;

  /**
   * A manager of `model` (a model class or its metadata). Custom managers subclass `Manager` and
   * are attached as static properties: `static published = new PublishedManager(this);`.
   */
  constructor(model: ModelMeta | (abstract new (...args: never[]) => I)) {
    if (model instanceof ModelMeta) this.meta = model;
    else {
      const meta = metaOfClass(model);
      if (!meta) throw new TypeError(`Manager() takes a model class (from Model.define()), got ${typeof model}.`);
      meta.adopt(model as never);
      this.meta = meta;
    }
  }

  /** The base query set of every method (override for a custom manager). */
  getQuerySet(): QuerySet<I, I, Empty> {
    return new QuerySet<I, I, Empty>(this.meta);
  }

  /** Create and save an instance (INSERT). */
  create(values: C): Promise<I> {
    return this.getQuerySet().create(values as unknown as InsertOf<FieldsOf<I>>);
  }

  /** Every row (a lazy query set). */
  all(): QuerySet<I, I, Empty> {
    return this.getQuerySet();
  }

  /**
   * Instances from your SQL: `Author.objects.raw(sql\`SELECT * FROM author WHERE id = ${id}\`)`.
   * Values are bound parameters.
   */
  raw(fragment: SqlFragment, options: { using?: string } = {}): RawQuerySet<I> {
    return new RawQuerySet<I>(this.meta, fragment, options.using);
  }

  /** The rows as plain objects, all columns. */
  rows(): QuerySet<I, Simplify<RowOf<FieldsOf<I>>>, Empty> {
    return this.getQuerySet().values();
  }
}

for (const name of MANAGER_METHODS) {
  Object.defineProperty(Manager.prototype, name, {
    value: function (this: Manager<AnyInstance>, ...args: unknown[]) {
      const qs = this.getQuerySet() as unknown as Record<string, (...a: unknown[]) => unknown>;
      return (qs[name] as (...a: unknown[]) => unknown).apply(qs, args);
    },
    writable: true,
    configurable: true,
  });
}
