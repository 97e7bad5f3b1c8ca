/**
 * Reading a database's schema back (Django's `DatabaseIntrospection`): tables, columns,
 * constraints and indexes, the same shape on every backend. The schema editor uses it to find
 * the real names of constraints it must drop; `spool inspectdb` writes models from it.
 */
import { connections, type Vendor } from '@spool/connections';

/** A column as the database describes it. */
export interface ColumnInfo {
  readonly name: string;
  /** The declared type, lower case, with its size (`varchar(100)`, `numeric(8,2)`, `integer`). */
  readonly dataType: string;
  readonly nullable: boolean;
  /** The default expression as SQL text, or undefined. */
  readonly default: string | undefined;
  /** Is the value generated (identity, AUTO_INCREMENT, SQLite INTEGER PRIMARY KEY AUTOINCREMENT)? */
  readonly autoIncrement: boolean;
  readonly maxLength: number | undefined;
  readonly precision: number | undefined;
  readonly scale: number | undefined;
  readonly collation: string | undefined;
  /** Does the column hold JSON (PostgreSQL jsonb, MariaDB's JSON alias, SQLite text checked by json_valid)? */
  readonly json: boolean;
}

/** A constraint or index (Django's `get_constraints()` entry). */
export interface ConstraintInfo {
  readonly name: string;
  readonly columns: readonly string[];
  readonly primaryKey: boolean;
  readonly unique: boolean;
  /** The referenced table and column of a foreign key. */
  readonly foreignKey: { readonly table: string; readonly column: string } | undefined;
  /** The SQL of a check constraint. */
  readonly check: string | undefined;
  /** Is it an index (as opposed to a table constraint)? */
  readonly index: boolean;
  /** Per column: 'ASC' or 'DESC' (indexes). */
  readonly orders: readonly ('ASC' | 'DESC')[];
}

/** Which constraints to look for. */
export interface ConstraintFilter {
  primaryKey?: boolean;
  unique?: boolean;
  foreignKey?: boolean;
  check?: boolean;
  index?: boolean;
}

/** One vendor's introspection. */
export abstract class Introspection {
  abstract readonly vendor: Vendor;
  constructor(readonly alias: string) {}

  protected async rows<T = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await connections.query(this.alias, sql, params)).rows as T[];
  }

  /** The tables (not views) of the database, sorted. */
  abstract tableNames(): Promise<string[]>;
  /** The columns of a table, in order. */
  abstract columns(table: string): Promise<ColumnInfo[]>;
  /** Constraints and indexes of a table, by name. */
  abstract constraints(table: string): Promise<Map<string, ConstraintInfo>>;

  async tableExists(table: string): Promise<boolean> {
    return (await this.tableNames()).includes(table);
  }

  /** Names of constraints on exactly `columns` matching `filter` (Django's `_constraint_names`). */
  async constraintNames(table: string, columns: readonly string[] | undefined, filter: ConstraintFilter): Promise<string[]> {
    const out: string[] = [];
    for (const [name, c] of await this.constraints(table)) {
      if (columns && (c.columns.length !== columns.length || c.columns.some((col, i) => col !== columns[i]))) continue;
      if (filter.primaryKey !== undefined && c.primaryKey !== filter.primaryKey) continue;
      if (filter.unique !== undefined && c.unique !== filter.unique) continue;
      if (filter.foreignKey !== undefined && (c.foreignKey !== undefined) !== filter.foreignKey) continue;
      if (filter.check !== undefined && (c.check !== undefined) !== filter.check) continue;
      if (filter.index !== undefined && c.index !== filter.index) continue;
      out.push(name);
    }
    return out;
  }
}
