// BigAutoField keys are bigints, and so are foreign keys to them (issue 9: no rounding beyond 2^53).
import { Avg, BigAutoField, CharField, F, ForeignKey, Max, Model, Sum, type InferInsert, type InferRow, type PkOf } from '@spool/orm';
import type { Equal, Expect } from './utils';

class BigK extends Model.define({ id: new BigAutoField(), name: new CharField({ maxLength: 5 }) }) {}
class BigC extends Model.define({ parent: new ForeignKey(() => BigK, { onDelete: 'cascade' }) }) {}

export type B1 = Expect<Equal<PkOf<BigK>, bigint>>;
export type B2 = Expect<Equal<InferRow<typeof BigK>, { id: bigint; name: string }>>;
export type B3 = Expect<Equal<InferRow<typeof BigC>, { parentId: bigint; id: number }>>;
// Keys may be given as safe numbers too; the key is optional on insert.
export type B4 = Expect<Equal<InferInsert<typeof BigK>['id'], bigint | number | undefined>>;

export async function bigKeyQueries(): Promise<void> {
  const k = await BigK.objects.get({ pk: 2n ** 53n + 1n });
  const id: bigint = k.id;
  await BigK.objects.filter({ id__in: [id, 5] }).count();
  await BigC.objects.filter({ parent: k }).count();
  await BigC.objects.filter({ parentId: id }).count();
  const c = await BigC.objects.create({ parent: k });
  const pid: bigint = c.parentId;
  const ids: bigint[] = await BigK.objects.valuesList('id', { flat: true });
  // Arithmetic and aggregates over a bigint key stay bigints (Avg is a float).
  const agg = await BigK.objects.aggregate({ next: Max('id'), total: Sum('id'), mean: Avg('id'), plus: Sum(F('id').add(1)) });
  const check: { next: bigint | null; total: bigint | null; mean: number | null; plus: bigint | null } = agg;
  const shifted = await BigK.objects.annotate({ s: F('id').add(1) });
  const s: bigint = shifted[0]!.s;
  void check;
  void s;
  void pid;
  void ids;
  // @ts-expect-error a key is not text
  await BigK.objects.filter({ pk: 'x' }).count();
}
