/**
 * Compares two project states and produces the operations that turn one into the other,
 * grouped in one new migration per app, with dependencies (Django's `MigrationAutodetector`).
 *
 * Order of operations in a migration (each step may need the previous ones):
 * renamed models, renamed fields, removed indexes/constraints/unique-together groups, removed
 * fields, deleted models (those referencing others first), created models (referenced ones
 * first; relations in a cycle are added afterwards as AddField), added fields, altered fields,
 * new unique-together groups, indexes and constraints, renamed tables.
 */
import { BadMigrationError } from './errors';
import { columnOf, specsEqual, withOptions, type FieldSpec } from './field-spec';
import type { MigrationGraph } from './graph';
import { Migration } from './migration';
import type { ModelState, ConstraintSpec, IndexSpec } from './model-state';
import {
  AddConstraint,
  AddField,
  AddIndex,
  AlterField,
  AlterModelTable,
  AlterUniqueTogether,
  CreateModel,
  DeleteModel,
  RemoveConstraint,
  RemoveField,
  RemoveIndex,
  RenameField,
  RenameModel,
  type Operation,
} from './operations';
import { renameModelIn } from './operations/model-operations';
import type { ProjectState } from './project-state';
import type { Questioner } from './questioner';
import { valuesEqual } from './field-spec';

/** A migration to write: its app, name, operations and dependencies. */
export interface DraftMigration {
  readonly appLabel: string;
  name: string;
  readonly operations: Operation[];
  readonly dependencies: [string, string][];
  readonly initial: boolean;
}

export interface DetectOptions {
  /** Only these apps get migrations (others' changes are ignored). Default: all. */
  apps?: readonly string[];
  /** Name for the migration (`--name`), used when one app changes. */
  name?: string;
}

const groupKey = (g: readonly string[]) => g.join('\u0000');

export class Autodetector {
  constructor(
    private readonly from: ProjectState,
    private readonly to: ProjectState,
    private readonly questioner: Questioner,
    /** Callable defaults of the real models, by `app.Model.field` (evaluated when a value is needed). */
    private readonly callableDefaults: ReadonlyMap<string, () => unknown> = new Map(),
  ) {}

  /** The migrations to write, one per changed app, named and numbered after `graph`. */
  async changes(graph: MigrationGraph, options: DetectOptions = {}): Promise<DraftMigration[]> {
    const ops = await this.detect();
    const only = options.apps ? new Set(options.apps) : undefined;
    const apps = [...ops.keys()].filter((a) => (only ? only.has(a) : true) && (ops.get(a) as Operation[]).length > 0);
    const drafts = new Map<string, DraftMigration>();
    for (const app of apps) {
      const leaves = graph.leafNodes(app);
      const number = nextNumber(graph, app);
      const operations = ops.get(app) as Operation[];
      const draft: DraftMigration = {
        appLabel: app,
        name: `${number}_${leaves.length === 0 ? 'initial' : suggestName(operations)}`,
        operations,
        dependencies: leaves.map((l) => [app, l.slice(app.length + 1)] as [string, string]),
        initial: leaves.length === 0,
      };
      drafts.set(app, draft);
    }
    if (options.name !== undefined) {
      if (!/^[A-Za-z0-9_]+$/.test(options.name))
        throw new BadMigrationError(`--name must contain only letters, digits and underscores, got '${options.name}'.`);
      for (const d of drafts.values()) d.name = `${d.name.slice(0, d.name.indexOf('_'))}_${options.name}`;
    }
    // Dependencies on other apps: their new migration, else their latest one.
    for (const d of drafts.values()) {
      const others = new Set<string>();
      for (const op of d.operations) for (const ref of op.referencedModels(d.appLabel)) others.add(ref.slice(0, ref.indexOf('.')));
      others.delete(d.appLabel);
      for (const other of [...others].sort()) {
        const mine = drafts.get(other);
        if (mine) d.dependencies.push([other, mine.name]);
        else {
          const leaves = graph.leafNodes(other);
          if (leaves.length === 0) {
            throw new BadMigrationError(
              `${d.appLabel} refers to models of app '${other}', which has no migrations: run makemigrations for '${other}' too.`,
            );
          }
          for (const l of leaves) d.dependencies.push([other, l.slice(other.length + 1)]);
        }
      }
    }
    checkDraftCycles([...drafts.values()]);
    return [...drafts.values()];
  }

  /** Operations per app (empty lists when nothing changed). */
  async detect(): Promise<Map<string, Operation[]>> {
    const out = new Map<string, Operation[]>();
    const add = (app: string, op: Operation) => {
      const list = out.get(app) ?? [];
      list.push(op);
      out.set(app, list);
    };
    const from = this.from.clone();
    const to = this.to;

    // 1. Renamed models: a removed and an added model of one app with the same fields.
    for (const added of [...to.models.values()]) {
      if (from.models.has(added.key)) continue;
      for (const removed of [...from.models.values()]) {
        if (removed.appLabel !== added.appLabel || to.models.has(removed.key)) continue;
        if (!sameFields(removed, added, removed.key, added.key)) continue;
        if (await this.questioner.askRenameModel(added.appLabel, removed.name, added.name)) {
          renameModelIn(from, added.appLabel, removed.name, added.name);
          add(added.appLabel, new RenameModel({ oldName: removed.name, newName: added.name }));
          break;
        }
      }
    }

    const kept = [...to.models.values()].filter((m) => from.models.has(m.key));
    const created = [...to.models.values()].filter((m) => !from.models.has(m.key));
    const deleted = [...from.models.values()].filter((m) => !to.models.has(m.key));

    // 2. Renamed fields.
    const renamed = new Map<string, Map<string, string>>(); // model key → new name → old name
    for (const m of kept) {
      const old = from.models.get(m.key) as ModelState;
      const addedNames = [...m.fields.keys()].filter((n) => !old.fields.has(n));
      const removedNames = [...old.fields.keys()].filter((n) => !m.fields.has(n));
      for (const n of addedNames) {
        const spec = m.field(n);
        for (const o of removedNames) {
          const oldSpec = old.fields.get(o);
          if (!oldSpec) continue;
          if (!specsEqual(withOptions(oldSpec, { dbColumn: undefined }), withOptions(spec, { dbColumn: undefined }))) continue;
          if (await this.questioner.askRenameField(m.appLabel, m.name, o, n, spec)) {
            add(m.appLabel, new RenameField({ modelName: m.name, oldName: o, newName: n }));
            from.updateModel(m.appLabel, m.name, (x) => {
              x.fields = new Map([...x.fields].map(([k, v]) => (k === o ? [n, v] : [k, v])));
              const ren = (f: string) => (f === o ? n : f === `-${o}` ? `-${n}` : f);
              x.options = {
                ...x.options,
                ...(x.options.uniqueTogether ? { uniqueTogether: x.options.uniqueTogether.map((g) => g.map(ren)) } : {}),
                ...(x.options.indexes ? { indexes: x.options.indexes.map((i) => ({ ...i, fields: i.fields.map(ren) })) } : {}),
                ...(x.options.constraints
                  ? { constraints: x.options.constraints.map((c) => (c.kind === 'unique' ? { ...c, fields: c.fields.map(ren) } : c)) }
                  : {}),
              };
            });
            removedNames.splice(removedNames.indexOf(o), 1);
            const map = renamed.get(m.key) ?? new Map<string, string>();
            map.set(n, o);
            renamed.set(m.key, map);
            break;
          }
        }
      }
    }

    // 3. Removed unique-together groups, indexes and constraints (before fields they name go).
    const lateUnique = new Map<string, readonly (readonly string[])[]>();
    for (const m of kept) {
      const old = from.models.get(m.key) as ModelState;
      const oldGroups = old.options.uniqueTogether ?? [];
      const newGroups = m.options.uniqueTogether ?? [];
      const newKeys = new Set(newGroups.map(groupKey));
      const intermediate = oldGroups.filter((g) => newKeys.has(groupKey(g)));
      if (intermediate.length !== oldGroups.length)
        add(m.appLabel, new AlterUniqueTogether({ name: m.name, uniqueTogether: intermediate }));
      if (!valuesEqual(intermediate, newGroups)) lateUnique.set(m.key, newGroups);
      for (const idx of old.options.indexes ?? []) {
        const now = (m.options.indexes ?? []).find((i) => i.name === idx.name);
        if (!now || !valuesEqual(now, idx)) add(m.appLabel, new RemoveIndex({ modelName: m.name, name: idx.name }));
      }
      for (const c of old.options.constraints ?? []) {
        const now = (m.options.constraints ?? []).find((x) => x.name === c.name);
        if (!now || !valuesEqual(now, c)) add(m.appLabel, new RemoveConstraint({ modelName: m.name, name: c.name }));
      }
    }

    // 4. Removed fields.
    for (const m of kept) {
      const old = from.models.get(m.key) as ModelState;
      for (const n of old.fields.keys()) if (!m.fields.has(n)) add(m.appLabel, new RemoveField({ modelName: m.name, name: n }));
    }

    // 5. Deleted models: those referencing others of the set first.
    for (const m of dependencyOrder(deleted).reverse()) add(m.appLabel, new DeleteModel({ name: m.name }));

    // 6. Created models: referenced ones first; relations in a cycle are added afterwards.
    const deferred: { model: ModelState; name: string; spec: FieldSpec }[] = [];
    const createdKeys = new Set(created.map((m) => m.key));
    const done = new Set<string>();
    for (const m of dependencyOrder(created)) {
      const fields: Record<string, FieldSpec> = {};
      for (const [n, spec] of m.fields) {
        const target = spec.options.to;
        const through = spec.options.through;
        const later = (t: string | undefined) => t !== undefined && t !== m.key && createdKeys.has(t) && !done.has(t);
        if (later(target) || later(through)) deferred.push({ model: m, name: n, spec });
        else fields[n] = spec;
      }
      done.add(m.key);
      add(m.appLabel, new CreateModel({ name: m.name, fields, options: stripOptions(m, fields) }));
      for (const idx of m.options.indexes ?? [])
        if (idx.fields.every((f) => fields[f.replace(/^-/, '')])) add(m.appLabel, new AddIndex({ modelName: m.name, index: idx }));
      for (const c of m.options.constraints ?? [])
        if (c.kind === 'check' || c.fields.every((f) => fields[f]))
          add(m.appLabel, new AddConstraint({ modelName: m.name, constraint: c }));
    }
    for (const d of deferred) add(d.model.appLabel, new AddField({ modelName: d.model.name, name: d.name, field: d.spec }));
    for (const d of deferred) {
      const m = d.model;
      if (m.options.uniqueTogether?.some((g) => g.includes(d.name)))
        add(m.appLabel, new AlterUniqueTogether({ name: m.name, uniqueTogether: m.options.uniqueTogether }));
      for (const idx of m.options.indexes ?? [])
        if (idx.fields.some((f) => f.replace(/^-/, '') === d.name)) add(m.appLabel, new AddIndex({ modelName: m.name, index: idx }));
      for (const c of m.options.constraints ?? [])
        if (c.kind === 'unique' && c.fields.includes(d.name)) add(m.appLabel, new AddConstraint({ modelName: m.name, constraint: c }));
    }

    // 7. Added fields.
    for (const m of kept) {
      const old = from.models.get(m.key) as ModelState;
      for (const [n, spec] of m.fields) {
        if (old.fields.has(n)) continue;
        add(m.appLabel, await this.addFieldOp(m, n, spec));
      }
    }

    // 8. Altered fields.
    for (const m of kept) {
      const old = from.models.get(m.key) as ModelState;
      for (const [n, spec] of m.fields) {
        const before = old.fields.get(n);
        if (!before || specsEqual(before, spec)) continue;
        let preserveDefault = true;
        let field = spec;
        if (before.options.null && !spec.options.null && spec.options.default === undefined && spec.type !== 'ManyToManyField') {
          const value = await this.questioner.askNotNullAlteration(m.appLabel, m.name, n);
          if (value !== undefined) {
            field = withOptions(spec, { default: value });
            preserveDefault = false;
          }
        }
        add(m.appLabel, new AlterField({ modelName: m.name, name: n, field, preserveDefault }));
        void columnOf;
      }
    }

    // 9. New unique-together groups, indexes, constraints.
    for (const m of kept) {
      const old = from.models.get(m.key) as ModelState;
      const late = lateUnique.get(m.key);
      if (late) add(m.appLabel, new AlterUniqueTogether({ name: m.name, uniqueTogether: late }));
      for (const idx of m.options.indexes ?? []) {
        const before = (old.options.indexes ?? []).find((i) => i.name === idx.name);
        if (!before || !valuesEqual(before, idx)) add(m.appLabel, new AddIndex({ modelName: m.name, index: idx }));
      }
      for (const c of m.options.constraints ?? []) {
        const before = (old.options.constraints ?? []).find((x) => x.name === c.name);
        if (!before || !valuesEqual(before, c)) add(m.appLabel, new AddConstraint({ modelName: m.name, constraint: c }));
      }
    }

    // 10. Renamed tables.
    for (const m of kept) {
      const old = from.models.get(m.key) as ModelState;
      if (old.dbTable !== m.dbTable) add(m.appLabel, new AlterModelTable({ name: m.name, dbTable: m.dbTable }));
    }
    return out;
  }

  /** AddField, with a one-off default for the existing rows of a NOT NULL field without one. */
  private async addFieldOp(m: ModelState, name: string, spec: FieldSpec): Promise<AddField> {
    const needsValue =
      spec.type !== 'ManyToManyField' &&
      !spec.options.null &&
      spec.options.default === undefined &&
      !spec.options.autoNow &&
      !spec.options.autoNowAdd;
    if (!needsValue) return new AddField({ modelName: m.name, name, field: spec });
    const callable = this.callableDefaults.get(`${m.key}.${name}`);
    if (callable) {
      const value = callable();
      this.questioner.notes.push(
        `${m.key}.${name}: existing rows get one value of its default function, computed now (${JSON.stringify(value)}).`,
      );
      return new AddField({ modelName: m.name, name, field: withOptions(spec, { default: value as never }), preserveDefault: false });
    }
    const value = await this.questioner.askNotNullAddition(m.appLabel, m.name, name);
    return new AddField({ modelName: m.name, name, field: withOptions(spec, { default: value }), preserveDefault: false });
  }
}

/** Fields equal (relations compared with `oldKey` read as `newKey`)? */
function sameFields(a: ModelState, b: ModelState, oldKey: string, newKey: string): boolean {
  if (a.fields.size !== b.fields.size) return false;
  for (const [n, f] of a.fields) {
    const g = b.fields.get(n);
    if (!g) return false;
    const fixed = f.options.to === oldKey ? withOptions(f, { to: newKey }) : f;
    if (
      !specsEqual(
        withOptions(fixed, { dbTable: undefined, throughColumns: undefined }),
        withOptions(g, { dbTable: undefined, throughColumns: undefined }),
      )
    )
      return false;
  }
  return true;
}

/** Options of a created model without groups naming fields added later. */
function stripOptions(m: ModelState, fields: Record<string, FieldSpec>) {
  const has = (f: string) => fields[f.replace(/^-/, '')] !== undefined;
  return {
    dbTable: m.dbTable,
    ...(m.options.uniqueTogether?.length ? { uniqueTogether: m.options.uniqueTogether.filter((g) => g.every(has)) } : {}),
  };
}

/** Models ordered so that a model comes after the models it references (cycles broken arbitrarily). */
function dependencyOrder(models: readonly ModelState[]): ModelState[] {
  const byKey = new Map(models.map((m) => [m.key, m]));
  const out: ModelState[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (m: ModelState) => {
    if (state.has(m.key)) return;
    state.set(m.key, 1);
    for (const f of m.fields.values()) {
      for (const t of [f.options.to, f.options.through]) {
        const target = t ? byKey.get(t) : undefined;
        if (target && target !== m) visit(target);
      }
    }
    state.set(m.key, 2);
    out.push(m);
  };
  for (const m of [...models].sort((a, b) => a.key.localeCompare(b.key))) visit(m);
  return out;
}

function nextNumber(graph: MigrationGraph, app: string): string {
  let max = 0;
  for (const m of graph.nodes.values()) {
    if (m.appLabel !== app) continue;
    const n = Number.parseInt(m.name, 10);
    if (Number.isFinite(n) && n > max) max = n;
  }
  return String(max + 1).padStart(4, '0');
}

/** A file name from the operations (Django's `Migration.suggest_name`). */
export function suggestName(operations: readonly Operation[]): string {
  const fragments = operations.map((o) => o.migrationNameFragment());
  if (fragments.length > 0 && fragments.every((f): f is string => f !== undefined)) {
    const name = [...new Set(fragments)].join('_');
    if (name.length <= 52) return name;
  }
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `auto_${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}_${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

function checkDraftCycles(drafts: DraftMigration[]): void {
  const byApp = new Map(drafts.map((d) => [d.appLabel, d]));
  for (const d of drafts) {
    for (const [app, name] of d.dependencies) {
      const other = byApp.get(app);
      if (other && other.name === name && other.dependencies.some(([a, n]) => a === d.appLabel && n === d.name)) {
        throw new BadMigrationError(
          `The new migrations of apps '${d.appLabel}' and '${app}' would depend on each other (their models point at each other). Make one of the relations null: true and add it in a second step, or run makemigrations for one app, migrate, then the other.`,
        );
      }
    }
  }
}

export type { IndexSpec, ConstraintSpec };
export { Migration };
