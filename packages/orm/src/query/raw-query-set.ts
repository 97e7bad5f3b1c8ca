/**
 * `Model.objects.raw(sql\`...\`)`: run your SQL and get instances. Columns named like a field's
 * column (or attribute) fill that field; other columns become plain attributes (annotations).
 * Values in the template are bound parameters, never SQL. Values are read as the ORM reads them:
 * a `DateTimeField` column (and any other instant the query returns) as a `PreciseDate` with the
 * server's microseconds, a date as `'YYYY-MM-DD'` text, a `BigIntegerField` or `BigAutoField`
 * column as a `bigint`.
 *
 * ### Examples
 * ```ts
 * const authors = await Author.objects.raw(sql`SELECT * FROM author WHERE name LIKE ${prefix + '%'} ORDER BY name`);
 * ```
 */
import { connections, SqlFragment, type QueryOptions } from '@spool/connections';
import type { ModelMeta } from '../models/model-meta';
import type { AnyInstance } from '../types';
import { operationsFor } from '../backends/operations-for';
import { rawMapper, RAW_READ_OPTIONS, RAW_READ_SAFE_INTEGERS } from './compiler';

export class RawQuerySet<I extends AnyInstance> implements PromiseLike<I[]> {
  private result: Promise<I[]> | undefined;

  constructor(
    private readonly meta: ModelMeta,
    readonly fragment: SqlFragment,
    private readonly alias: string | undefined,
  ) {
    if (!SqlFragment.is(fragment))
      throw new TypeError(`raw() takes a sql\`...\` template (values are bound parameters), got ${typeof fragment}.`);
  }

  /** Run on `alias`. */
  using(alias: string): RawQuerySet<I> {
    return new RawQuerySet<I>(this.meta, this.fragment, alias);
  }

  /** The alias: `using()`, else the routers. */
  get db(): string {
    return this.alias ?? connections.router.dbForRead(this.meta.modelClass, {});
  }

  private run(): Promise<I[]> {
    if (!this.result) {
      const alias = this.db;
      const backend = connections.backend(alias);
      const { text, bindings } = this.fragment.compile(backend);
      const ops = operationsFor(backend.vendor);
      const map = rawMapper(this.meta, ops);
      // Instants as the server's text (a driver's Date keeps milliseconds only); bigints where the
      // driver would round them (SQLite).
      const options: QueryOptions =
        ops.features.safeIntegersPerStatement && this.meta.fields.some((f) => f.bigint) ? RAW_READ_SAFE_INTEGERS : RAW_READ_OPTIONS;
      this.result = connections.query(alias, text, bindings, options).then((res) => res.rows.map((r) => map(r, alias) as I));
      this.result.catch(() => {
        this.result = undefined;
      });
    }
    return this.result;
  }

  then<T1 = I[], T2 = never>(
    onfulfilled?: ((value: I[]) => T1 | PromiseLike<T1>) | null,
    onrejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    return this.run().then(onfulfilled, onrejected);
  }
}
