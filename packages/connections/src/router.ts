/**
 * Database routers (Django's `DATABASE_ROUTERS`): tried in order, the first answer that is not
 * `null`/`undefined` wins. The handler knows nothing of models: `model` is whatever the ORM
 * passes (its model class), and hints may carry the instance and the alias it was loaded from.
 */

/** What a router may know of the scope a query runs in (for read-your-writes stickiness). */
export interface RouteScope {
  readonly id: number;
  /** Aliases this scope has been routed to for a write (`dbForWrite`) so far. */
  readonly written: ReadonlySet<string>;
  /** Does the calling code run inside an `atomic()` block on `alias`? */
  inAtomicBlock(alias: string): boolean;
}

/** Hints passed to routers. */
export interface RouteHints {
  /** The model instance concerned, when there is one. */
  instance?: unknown;
  /** The alias the instance was loaded from or saved to (fallback when no router answers). */
  instanceAlias?: string;
  /** The scope of the calling code (set by the handler; absent outside any scope). */
  scope?: RouteScope;
  [key: string]: unknown;
}

/** Implement any of these; return `null`/`undefined` for "no opinion". */
export interface Router {
  /** The alias to read `model` from. */
  dbForRead?(model: unknown, hints: RouteHints): string | null | undefined;
  /** The alias to write `model` to. */
  dbForWrite?(model: unknown, hints: RouteHints): string | null | undefined;
  /** May a relation exist between `a` and `b`? */
  allowRelation?(a: unknown, b: unknown, hints: RouteHints): boolean | null | undefined;
  /** May a migration for `appLabel` / `modelName` run on `alias`? */
  allowMigrate?(alias: string, appLabel: string, modelName: string | undefined, hints: RouteHints): boolean | null | undefined;
}

/** Applies a list of routers with Django's fallbacks. */
export class ConnectionRouter {
  constructor(
    private readonly routers: readonly Router[],
    /** The calling code's scope and the set of aliases it wrote to (given by the handler). */
    private readonly scopeOf: () => { scope: RouteScope; written: Set<string> } | undefined = () => undefined,
  ) {}

  dbForRead(model: unknown, hints: RouteHints = {}): string {
    return this.route('dbForRead', model, this.withScope(hints)?.hints ?? hints);
  }

  /** Routes a write, and remembers in the scope that it wrote there (read-your-writes routers use it). */
  dbForWrite(model: unknown, hints: RouteHints = {}): string {
    const s = this.withScope(hints);
    const alias = this.route('dbForWrite', model, s?.hints ?? hints);
    s?.written.add(alias);
    return alias;
  }

  private withScope(hints: RouteHints): { hints: RouteHints; written: Set<string> } | undefined {
    const s = this.scopeOf();
    if (s === undefined) return undefined;
    return { hints: hints.scope === undefined && this.routers.length > 0 ? { ...hints, scope: s.scope } : hints, written: s.written };
  }

  allowRelation(a: unknown, b: unknown, hints: RouteHints = {}): boolean {
    for (const r of this.routers) {
      const answer = r.allowRelation?.(a, b, hints);
      if (answer !== null && answer !== undefined) return answer;
    }
    // Django's fallback: allowed when both live in the same database.
    const aa = (hints as { aliasA?: string }).aliasA;
    const ab = (hints as { aliasB?: string }).aliasB;
    return aa === undefined || ab === undefined || aa === ab;
  }

  allowMigrate(alias: string, appLabel: string, modelName?: string, hints: RouteHints = {}): boolean {
    for (const r of this.routers) {
      const answer = r.allowMigrate?.(alias, appLabel, modelName, hints);
      if (answer !== null && answer !== undefined) return answer;
    }
    return true;
  }

  private route(method: 'dbForRead' | 'dbForWrite', model: unknown, hints: RouteHints): string {
    for (const r of this.routers) {
      const alias = r[method]?.(model, hints);
      if (alias !== null && alias !== undefined) return alias;
    }
    return hints.instanceAlias ?? 'default';
  }
}
