/**
 * The migration graph (Django's `MigrationGraph`): migrations as nodes, dependencies as edges,
 * across apps. Plans are computed from it: what to apply to reach a migration (its ancestors,
 * dependencies first) and what to unapply to leave one (its descendants, dependents first).
 */
import { CircularDependencyError, NodeNotFoundError } from './errors';
import type { Migration, MigrationKey } from './migration';
import { ProjectState } from './project-state';

const k = (key: MigrationKey | string): string => (typeof key === 'string' ? key : `${key[0]}.${key[1]}`);

export class MigrationGraph {
  readonly nodes = new Map<string, Migration>();
  private readonly parents = new Map<string, Set<string>>();
  private readonly children = new Map<string, Set<string>>();

  addNode(migration: Migration): void {
    this.nodes.set(migration.key, migration);
    this.parents.set(migration.key, new Set());
    this.children.set(migration.key, new Set());
  }

  /** Add the edges of every node's dependencies; a missing dependency is named. */
  addDependencies(): void {
    for (const m of this.nodes.values()) {
      for (const dep of m.dependencies) {
        const d = k(dep);
        if (!this.nodes.has(d)) {
          throw new NodeNotFoundError(
            `Migration ${m.key} depends on ${d}, which does not exist (is the file missing, or the app not in the config?).`,
            { node: d },
          );
        }
        this.parents.get(m.key)?.add(d);
        this.children.get(d)?.add(m.key);
      }
    }
    this.checkCycles();
  }

  node(key: MigrationKey | string): Migration {
    const m = this.nodes.get(k(key));
    if (!m) throw new NodeNotFoundError(`Migration ${k(key)} does not exist.`, { node: k(key) });
    return m;
  }

  parentsOf(key: string): string[] {
    return [...(this.parents.get(key) ?? [])].sort();
  }

  childrenOf(key: string): string[] {
    return [...(this.children.get(key) ?? [])].sort();
  }

  /** The migrations to apply, in order, to reach `target` (its ancestors and itself). */
  forwardsPlan(target: string): string[] {
    this.node(target);
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (n: string) => {
      if (seen.has(n)) return;
      seen.add(n);
      for (const p of this.parentsOf(n)) visit(p);
      out.push(n);
    };
    visit(target);
    return out;
  }

  /** The migrations to unapply, in order, to unapply `target` (its descendants first, then itself). */
  backwardsPlan(target: string): string[] {
    this.node(target);
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (n: string) => {
      if (seen.has(n)) return;
      seen.add(n);
      for (const c of this.childrenOf(n)) visit(c);
      out.push(n);
    };
    visit(target);
    return out;
  }

  /** Nodes with no dependents in their own app, per app (several per app = a conflict). */
  leafNodes(app?: string): string[] {
    const out: string[] = [];
    for (const m of this.nodes.values()) {
      if (app !== undefined && m.appLabel !== app) continue;
      if (![...(this.children.get(m.key) ?? [])].some((c) => this.nodes.get(c)?.appLabel === m.appLabel)) out.push(m.key);
    }
    return out.sort();
  }

  /** Nodes with no dependencies in their own app. */
  rootNodes(app?: string): string[] {
    const out: string[] = [];
    for (const m of this.nodes.values()) {
      if (app !== undefined && m.appLabel !== app) continue;
      if (![...(this.parents.get(m.key) ?? [])].some((p) => this.nodes.get(p)?.appLabel === m.appLabel)) out.push(m.key);
    }
    return out.sort();
  }

  /** Every node in an order that respects dependencies (apps in turn, deterministic). */
  fullPlan(): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    for (const leaf of this.leafNodes()) {
      for (const n of this.forwardsPlan(leaf)) {
        if (!seen.has(n)) {
          seen.add(n);
          out.push(n);
        }
      }
    }
    return out;
  }

  /** The state after applying `nodes` and their ancestors (all leaves by default). */
  makeState(nodes: readonly string[] = this.leafNodes()): ProjectState {
    let state = new ProjectState();
    const done = new Set<string>();
    for (const n of nodes) {
      for (const key of this.forwardsPlan(n)) {
        if (done.has(key)) continue;
        done.add(key);
        state = this.node(key).mutateState(state);
      }
    }
    return state;
  }

  private checkCycles(): void {
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const visit = (n: string) => {
      const s = state.get(n);
      if (s === 2) return;
      if (s === 1) {
        const cycle = stack.slice(stack.indexOf(n));
        throw new CircularDependencyError(`Migrations depend on each other in a cycle: ${[...cycle, n].join(' -> ')}.`);
      }
      state.set(n, 1);
      stack.push(n);
      for (const p of this.parentsOf(n)) visit(p);
      stack.pop();
      state.set(n, 2);
    };
    for (const n of this.nodes.keys()) visit(n);
  }
}
