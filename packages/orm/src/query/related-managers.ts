/**
 * Related managers: `author.books` (reverse foreign key) and `book.tags` / `tag.books`
 * (many-to-many). They are managers whose query set is limited to the instance's related rows,
 * with `add`, `remove`, `set`, `clear` and `create`. When the relation was prefetched, `all()` and
 * `items` answer from the prefetched rows without a query.
 *
 * ### Examples
 * ```ts
 * const books = await author.books.filter({ title__startswith: 'A' });
 * await book.tags.add(python, web);             // INSERT into the through table (existing pairs skipped)
 * await book.tags.set([python]);                 // removes web
 * const authors = await Author.objects.prefetchRelated('books');
 * authors[0].books.items;                        // no query
 * ```
 */
import { atomic, connections } from '@spool/connections';
import { FieldError, RelatedNotLoadedError } from '../errors';
import type { ForeignObject } from '../fields/foreign-key';
import type { ManyToManyField } from '../fields/many-to-many-field';
import type { ModelMeta } from '../models/model-meta';
import type { AnyInstance, FieldsOf, InsertOf, PkOf, Empty } from '../types';
import { Manager } from './manager';
import { QuerySet } from './query-set';
import { isModelInstance, instanceMeta } from './query';
import { stateOf, type ModelState } from '../models/model-state';

/** What a related manager works on (built by the ORM: related managers are not constructed by hand). */
export type RelationDescriptor =
  | { kind: 'reverse-fk'; accessor: string; model: ModelMeta; fk: ForeignObject<never>; parent: ModelMeta }
  | {
      kind: 'm2m';
      accessor: string;
      /** The model of the related instances. */
      model: ModelMeta;
      /** The model of the instance owning the manager. */
      parent: ModelMeta;
      field: ManyToManyField<unknown>;
      /** The lookup from `model` back to the instance (`books` for book.tags → Tag.filter({ books: book })). */
      queryName: string;
      through: ModelMeta;
      /** The through model's key to the instance's model and to the related model. */
      sourceFk: ForeignObject<never>;
      targetFk: ForeignObject<never>;
    };

/** The manager of a multi-valued relation of one instance. */
export class RelatedManager<I extends AnyInstance> extends Manager<I, Partial<InsertOf<FieldsOf<I>>>> {
  /** @internal */
  readonly instance: AnyInstance;
  /** @internal */
  readonly rel: RelationDescriptor;

  constructor(instance: AnyInstance, rel: RelationDescriptor) {
    super(rel.model);
    this.instance = instance;
    this.rel = rel;
  }

  private get state(): ModelState {
    return stateOf(this.instance as unknown as object);
  }

  private get instancePk(): unknown {
    const rel = this.rel;
    const field = rel.kind === 'reverse-fk' ? rel.fk.targetField : rel.parent.pk;
    const v = (this.instance as unknown as Record<string, unknown>)[field.attname];
    if (v === null || v === undefined) {
      throw new FieldError(
        `${rel.parent.name} instance needs a primary key value before this relationship (${rel.accessor}) can be used: save it first.`,
        { model: rel.parent.name, field: rel.accessor },
      );
    }
    return v;
  }

  /** The alias: the instance's (Django routes related managers by the instance's database). */
  private get dbAlias(): string {
    return connections.router.dbForRead(this.rel.model.modelClass, { instance: this.instance, instanceAlias: this.state.db });
  }

  override getQuerySet(): QuerySet<I, I, Empty> {
    const rel = this.rel;
    const prefetched = this.state.prefetched(rel.accessor);
    const hints = { instance: this.instance, instanceAlias: this.state.db };
    const base = new QuerySet<I, I, Empty>(rel.model, undefined, { db: undefined, prefetch: [], hints, known: undefined, write: false });
    const filtered = base.filter({ [rel.kind === 'reverse-fk' ? rel.fk.name : rel.queryName]: this.instancePk } as never);
    const knownRelated = rel.kind === 'reverse-fk' ? ([rel.fk.name, this.instance] as const) : undefined;
    return new QuerySet<I, I, Empty>(rel.model, filtered.query, {
      db: undefined,
      prefetch: [],
      hints,
      known: prefetched,
      write: false,
      ...(knownRelated ? { knownRelated } : {}),
    });
  }

  /** The prefetched (or `$fetch`ed) related instances, without a query; throws when not loaded. */
  get items(): I[] {
    const list = this.state.prefetched(this.rel.accessor);
    if (!list) {
      const rel = this.rel;
      throw new RelatedNotLoadedError(
        `${rel.parent.name}.${rel.accessor} is not loaded. Use prefetchRelated('${rel.accessor}') on the query or await obj.$fetch('${rel.accessor}'), or await obj.${rel.accessor}.all().`,
        { model: rel.parent.name, field: rel.accessor },
      );
    }
    return list as I[];
  }

  private invalidate(): void {
    this.state.deletePrefetched(this.rel.accessor);
  }

  private writeAlias(): string {
    return connections.router.dbForWrite(this.rel.model.modelClass, { instance: this.instance, instanceAlias: this.state.db });
  }

  /** Create a related instance, linked to this one (the key to this instance is filled in). */
  override async create(values: Partial<InsertOf<FieldsOf<I>>>): Promise<I> {
    const rel = this.rel;
    const alias = this.writeAlias();
    if (rel.kind === 'reverse-fk') {
      this.invalidate();
      return new QuerySet<I, I, Empty>(rel.model)
        .using(alias)
        .create({ ...(values as object), [rel.fk.name]: this.instance } as InsertOf<FieldsOf<I>>);
    }
    return atomic(
      async () => {
        const obj = await new QuerySet<I, I, Empty>(rel.model).using(alias).create(values as InsertOf<FieldsOf<I>>);
        await this.add(obj);
        return obj;
      },
      { using: alias, savepoint: false },
    );
  }

  /**
   * Link instances (or primary keys, for many-to-many) to this one. Reverse foreign key: one
   * UPDATE setting the key; many-to-many: INSERT of the missing pairs. For a through model with
   * required extra fields, pass `{ throughDefaults: { ... } }` last.
   */
  async add(...objs: Array<I | PkOf<I> | { throughDefaults: Record<string, unknown> }>): Promise<void> {
    const rel = this.rel;
    let throughDefaults: Record<string, unknown> = {};
    const last = objs[objs.length - 1];
    if (last !== null && typeof last === 'object' && !isModelInstance(last) && 'throughDefaults' in (last as object)) {
      throughDefaults = (last as { throughDefaults: Record<string, unknown> }).throughDefaults;
      objs = objs.slice(0, -1);
    }
    if (objs.length === 0) return;
    const alias = this.writeAlias();
    this.invalidate();
    if (rel.kind === 'reverse-fk') {
      const pks: unknown[] = [];
      for (const o of objs) {
        if (!isModelInstance(o) || instanceMeta(o) !== rel.model)
          throw new FieldError(`${rel.parent.name}.${rel.accessor}.add() takes ${rel.model.name} instances, got ${describeValue(o)}.`, {
            model: rel.parent.name,
            field: rel.accessor,
          });
        const pk = (o as Record<string, unknown>)[rel.model.pk.attname];
        if (pk === null || pk === undefined || stateOf(o as unknown as object).adding) {
          throw new FieldError(`${rel.model.name} instance isn't saved: save it before adding it to ${rel.parent.name}.${rel.accessor}.`, {
            model: rel.model.name,
          });
        }
        pks.push(pk);
      }
      await new QuerySet(rel.model)
        .using(alias)
        .filter({ pk__in: pks } as never)
        .update({ [rel.fk.attname]: this.instancePk } as never);
      for (const o of objs) (o as Record<string, unknown>)[rel.fk.name] = this.instance;
      return;
    }
    const ids = objs.map((o) => this.targetId(o));
    const source = this.instancePk;
    await atomic(
      async () => {
        const existing = new Set(
          (await new QuerySet(rel.through)
            .using(alias)
            .filter({ [rel.sourceFk.attname]: source, [`${rel.targetFk.attname}__in`]: ids } as never)
            .valuesList(rel.targetFk.attname as never, { flat: true })
            .fetchAll()) as unknown[],
        );
        const seen = new Set<unknown>();
        const rows: Record<string, unknown>[] = [];
        for (const id of ids) {
          const key = String(id);
          if (existing.has(id) || seen.has(key)) continue;
          seen.add(key);
          rows.push({ ...throughDefaults, [rel.sourceFk.attname]: source, [rel.targetFk.attname]: id });
        }
        if (rows.length > 0) await new QuerySet(rel.through).using(alias).bulkCreate(rows as never);
      },
      { using: alias, savepoint: false },
    );
  }

  /** Unlink instances: many-to-many deletes the pairs; a nullable reverse key is set to NULL. */
  async remove(...objs: Array<I | PkOf<I>>): Promise<void> {
    const rel = this.rel;
    if (objs.length === 0) return;
    const alias = this.writeAlias();
    this.invalidate();
    if (rel.kind === 'reverse-fk') {
      if (!rel.fk.null)
        throw new FieldError(
          `${rel.parent.name}.${rel.accessor}.remove() needs ${rel.model.name}.${rel.fk.name} to be nullable (null: true); delete the rows instead.`,
          { model: rel.parent.name, field: rel.accessor },
        );
      const pks = objs.map((o) => this.targetId(o));
      await new QuerySet(rel.model)
        .using(alias)
        .filter({ pk__in: pks, [rel.fk.attname]: this.instancePk } as never)
        .update({ [rel.fk.attname]: null } as never);
      for (const o of objs) if (isModelInstance(o)) (o as Record<string, unknown>)[rel.fk.name] = null;
      return;
    }
    const ids = objs.map((o) => this.targetId(o));
    await new QuerySet(rel.through)
      .using(alias)
      .filter({ [rel.sourceFk.attname]: this.instancePk, [`${rel.targetFk.attname}__in`]: ids } as never)
      .delete();
  }

  /** Unlink every related instance. */
  async clear(): Promise<void> {
    const rel = this.rel;
    const alias = this.writeAlias();
    this.invalidate();
    if (rel.kind === 'reverse-fk') {
      if (!rel.fk.null)
        throw new FieldError(
          `${rel.parent.name}.${rel.accessor}.clear() needs ${rel.model.name}.${rel.fk.name} to be nullable (null: true).`,
          { model: rel.parent.name, field: rel.accessor },
        );
      await new QuerySet(rel.model)
        .using(alias)
        .filter({ [rel.fk.attname]: this.instancePk } as never)
        .update({ [rel.fk.attname]: null } as never);
      return;
    }
    await new QuerySet(rel.through)
      .using(alias)
      .filter({ [rel.sourceFk.attname]: this.instancePk } as never)
      .delete();
  }

  /** Make the related set exactly `objs` (removing the others, adding the new ones), in one transaction. */
  async set(objs: ReadonlyArray<I | PkOf<I>>, options: { clear?: boolean } = {}): Promise<void> {
    const rel = this.rel;
    const alias = this.writeAlias();
    await atomic(
      async () => {
        if (options.clear) {
          await this.clear();
          await this.add(...objs);
          return;
        }
        if (rel.kind === 'reverse-fk' && !rel.fk.null) {
          await this.add(...objs);
          return;
        }
        const wanted = objs.map((o) => this.targetId(o));
        const current =
          rel.kind === 'reverse-fk'
            ? ((await new QuerySet(rel.model)
                .using(alias)
                .filter({ [rel.fk.attname]: this.instancePk } as never)
                .valuesList('pk' as never, { flat: true })
                .fetchAll()) as unknown[])
            : ((await new QuerySet(rel.through)
                .using(alias)
                .filter({ [rel.sourceFk.attname]: this.instancePk } as never)
                .valuesList(rel.targetFk.attname as never, { flat: true })
                .fetchAll()) as unknown[]);
        const wantedKeys = new Set(wanted.map(String));
        const currentKeys = new Set(current.map(String));
        const toRemove = current.filter((id) => !wantedKeys.has(String(id)));
        const toAdd = objs.filter((o, i) => !currentKeys.has(String(wanted[i])));
        if (toRemove.length > 0) await this.remove(...(toRemove as Array<PkOf<I>>));
        if (toAdd.length > 0) await this.add(...toAdd);
      },
      { using: alias, savepoint: false },
    );
  }

  private targetId(o: unknown): unknown {
    const rel = this.rel;
    if (isModelInstance(o)) {
      if (instanceMeta(o) !== rel.model)
        throw new FieldError(`${rel.parent.name}.${rel.accessor} takes ${rel.model.name} instances, got a ${instanceMeta(o)?.name}.`, {
          model: rel.parent.name,
          field: rel.accessor,
        });
      const pk = (o as Record<string, unknown>)[rel.model.pk.attname];
      if (pk === null || pk === undefined)
        throw new FieldError(`${rel.model.name} instance isn't saved: save it before using it in ${rel.parent.name}.${rel.accessor}.`, {
          model: rel.model.name,
        });
      return pk;
    }
    if (o === null || o === undefined || typeof o === 'object')
      throw new FieldError(
        `${rel.parent.name}.${rel.accessor} takes ${rel.model.name} instances or primary keys, got ${describeValue(o)}.`,
        { model: rel.parent.name, field: rel.accessor },
      );
    return rel.model.pk.toJs(o);
  }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `${typeof v} ${String(v)}`;
}
