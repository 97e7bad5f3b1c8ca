/**
 * A router for a primary and its read replicas: writes go to the primary, reads to a replica
 * (round robin), except where a read must see the scope's own writes: once a scope has written
 * to the primary (the ORM's saves, creates, updates, deletes, and raw `sql` or `builder()`
 * statements on the primary that write: anything but a plain SELECT, SHOW or EXPLAIN), its reads
 * go to the primary for the rest of the scope, inside `atomic()` blocks or not, and so do reads
 * inside an `atomic()` block on the primary. Raw `sql` itself does not pass through routers: it
 * runs on the alias it names (`sql.using(alias)`, `default` without).
 *
 * ### Examples
 * ```ts
 * configure({
 *   databases: { default: primarySettings, replica: replicaSettings },
 *   routers: [new PrimaryReplicaRouter({ primary: 'default', replicas: ['replica'] })],
 * });
 * ```
 */
import { ConfigError } from './errors';
import { messages } from './messages';
import type { RouteHints, Router } from './router';

export interface PrimaryReplicaOptions {
  /** The alias writes go to. Default `'default'`. */
  primary?: string;
  /** Aliases reads go to, in turn. At least one. */
  replicas: readonly string[];
}

export class PrimaryReplicaRouter implements Router {
  readonly primary: string;
  readonly replicas: readonly string[];
  private next = 0;

  constructor(options: PrimaryReplicaOptions) {
    const replicas = (options as { replicas?: unknown } | undefined)?.replicas;
    if (!Array.isArray(replicas) || replicas.length === 0 || !replicas.every((r) => typeof r === 'string' && r.length > 0)) {
      throw new ConfigError(messages.badReplicas(replicas), { option: 'replicas' });
    }
    this.primary = options.primary ?? 'default';
    this.replicas = [...replicas];
  }

  dbForRead(_model: unknown, hints: RouteHints): string {
    const s = hints.scope;
    // Read your writes: after the scope wrote to the primary, and inside its transactions.
    if (s !== undefined && (s.written.has(this.primary) || s.inAtomicBlock(this.primary))) return this.primary;
    const alias = this.replicas[this.next % this.replicas.length] as string;
    this.next = (this.next + 1) % this.replicas.length;
    return alias;
  }

  dbForWrite(): string {
    return this.primary;
  }

  /** Primary and replicas hold the same data. */
  allowRelation(): boolean {
    return true;
  }

  /** Migrations run on the primary only (the replicas follow it). */
  allowMigrate(alias: string): boolean {
    return alias === this.primary;
  }
}
