/**
 * `@spool/orm/internal`: hooks for Spool's own tests and benchmarks, outside the public API and
 * its compatibility promise: the statistics of the compiled-SQL cache, and emptying it.
 */
export { compilerStats, clearCompiledCache } from './query/compiler';
