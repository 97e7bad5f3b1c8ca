/**
 * `@spool/orm/internal`: hooks for Spool's own tests and benchmarks, outside the public API and
 * its compatibility promise: the statistics of the compiled-SQL cache, emptying it, and the row
 * mapper (hydrator) of a query set, to measure hydration without a database round trip.
 */
import { operationsForAlias } from './backends/operations-for';
import { compileSelect, withDefaultOrdering } from './query/compiler';
import type { Query } from './query/query';

export { compilerStats, clearCompiledCache } from './query/compiler';

/**
 * The function that turns `qs`'s array rows (its columns in order, as the driver returns them on
 * `alias`) into what the query set yields: model instances, or values.
 */
export function rowMapper(qs: { readonly query: Query }, alias = 'default'): (rows: unknown[][]) => unknown[] {
  const q = withDefaultOrdering(qs.query);
  const map = compileSelect(q, operationsForAlias(alias), alias).map;
  if (map === undefined) throw new TypeError('rowMapper(): this query set returns no rows to map.');
  return (rows) => map(rows, alias);
}
