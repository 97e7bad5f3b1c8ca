// The types the READMEs rely on, checked by the compiler (ts-jest type-checks this file, and so
// does `npm run check`): a failing assertion does not compile. task() infers its argument from
// the handler's annotation (and takes `any` when there is none, as `task(async ({ id }) => …)`
// in the README); fanOut's `settled` is part of FanOutOptions and selects the outcome type;
// openScope().run(fn) returns a promise when fn returns a thenable.
import { fanOut, openScope, sql, type DetachedResult, type FanOutOptions, type RunResult, type SqlQuery } from '@spool/connections';
import { task, type TaskHandler } from '@spool/workers';
import type { Equal, Expect, HasKey } from '../orm-types/utils';

const annotated = task(async ({ id }: { id: number }) => sql<{ id: number }>`SELECT ${id} AS id`);
const _unannotated = task(async ({ id }) => sql`SELECT * FROM author WHERE id = ${id}`);
const run = (n: number): Promise<string> => Promise.resolve(String(n));

export type Checks = [
  Expect<Equal<typeof annotated, TaskHandler<{ id: number }, Array<{ id: number }>>>>,
  // What an unannotated destructured argument is: any, so that the README's one-liner compiles.
  Expect<Equal<Parameters<typeof _unannotated>[0], any>>,
  Expect<HasKey<FanOutOptions, 'settled'>>,
  Expect<Equal<FanOutOptions['settled'], boolean | undefined>>,
  Expect<Equal<RunResult<SqlQuery<{ one: number }>>, Promise<Array<{ one: number }>>>>,
  Expect<Equal<RunResult<Promise<number>>, Promise<number>>>,
  Expect<Equal<RunResult<number>, number>>,
];

test('the typed calls compile and have the types the READMEs show', () => {
  // Compile-time only: these are never awaited or run against a database.
  const settled: () => Promise<Array<DetachedResult<string>>> = () => fanOut([1, 2], run, { settled: true });
  const plain: () => Promise<string[]> = () => fanOut([1, 2], run);
  const handle = openScope;
  const viaRun: (h: ReturnType<typeof handle>) => Promise<Array<Record<string, unknown>>> = (h) => h.run(() => sql`SELECT 1 AS one`);
  // @ts-expect-error -- the annotated task checks its argument
  const wrong = (): unknown => annotated({ id: 'x' });
  expect([settled, plain, viaRun, wrong].every((f) => typeof f === 'function')).toBe(true);
});
