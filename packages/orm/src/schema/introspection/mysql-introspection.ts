/** MariaDB/MySQL introspection, from information_schema (the connection's current database). */
import { Introspection, type ColumnInfo, type ConstraintInfo } from './introspection';

export class MysqlIntrospection extends Introspection {
  readonly vendor = 'mysql' as const;

  async tableNames(): Promise<string[]> {
    const rows = await this.rows<{ name: string }>(
      `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
    );
    return rows.map((r) => r.name);
  }

  async columns(table: string): Promise<ColumnInfo[]> {
    const [tableInfo] = await this.rows<{ collation: string | null }>(
      `SELECT TABLE_COLLATION AS collation FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
      [table],
    );
    const checks = await this.checks(table);
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, DATA_TYPE AS dataType, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS dflt, EXTRA AS extra,
              CHARACTER_MAXIMUM_LENGTH AS maxLength, NUMERIC_PRECISION AS prec, NUMERIC_SCALE AS scale, COLLATION_NAME AS collation
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [table],
    );
    return rows.map((r) => {
      const name = String(r.name);
      const type = String(r.type).toLowerCase();
      const dataType = String(r.dataType).toLowerCase();
      const dflt = r.dflt === null || r.dflt === 'NULL' ? undefined : String(r.dflt);
      const json =
        dataType === 'json' ||
        (dataType === 'longtext' && [...checks.values()].some((c) => new RegExp(`^json_valid\\(\`${name}\`\\)$`, 'i').test(c.trim())));
      return {
        name,
        dataType: type,
        nullable: r.nullable === 'YES',
        default: dflt,
        autoIncrement: String(r.extra).toLowerCase().includes('auto_increment'),
        maxLength: ['varchar', 'char'].includes(dataType) && r.maxLength !== null ? Number(r.maxLength) : undefined,
        precision: dataType === 'decimal' ? Number(r.prec) : undefined,
        scale: dataType === 'decimal' ? Number(r.scale) : undefined,
        collation: r.collation && tableInfo?.collation && r.collation !== tableInfo.collation ? String(r.collation) : undefined,
        json,
      };
    });
  }

  private async checks(table: string): Promise<Map<string, string>> {
    const rows = await this.rows<{ name: string; clause: string }>(
      `SELECT CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
      [table],
    );
    return new Map(rows.map((r) => [r.name, r.clause]));
  }

  async constraints(table: string): Promise<Map<string, ConstraintInfo>> {
    const out = new Map<string, ConstraintInfo & { columns: string[]; orders: ('ASC' | 'DESC')[] }>();
    const keys = await this.rows<Record<string, unknown>>(
      `SELECT kc.CONSTRAINT_NAME AS name, kc.COLUMN_NAME AS col, kc.REFERENCED_TABLE_NAME AS rt, kc.REFERENCED_COLUMN_NAME AS rc, tc.CONSTRAINT_TYPE AS type
       FROM information_schema.KEY_COLUMN_USAGE kc
       JOIN information_schema.TABLE_CONSTRAINTS tc
         ON tc.CONSTRAINT_SCHEMA = kc.CONSTRAINT_SCHEMA AND tc.TABLE_NAME = kc.TABLE_NAME AND tc.CONSTRAINT_NAME = kc.CONSTRAINT_NAME
       WHERE kc.TABLE_SCHEMA = DATABASE() AND kc.TABLE_NAME = ?
       ORDER BY kc.CONSTRAINT_NAME, kc.ORDINAL_POSITION`,
      [table],
    );
    for (const r of keys) {
      const name = String(r.name);
      let c = out.get(name);
      if (!c) {
        const type = String(r.type);
        c = {
          name,
          columns: [],
          primaryKey: type === 'PRIMARY KEY',
          unique: type === 'PRIMARY KEY' || type === 'UNIQUE',
          foreignKey: r.rt ? { table: String(r.rt), column: String(r.rc) } : undefined,
          check: undefined,
          index: false,
          orders: [],
        };
        out.set(name, c);
      }
      c.columns.push(String(r.col));
      c.orders.push('ASC');
    }
    for (const [name, clause] of await this.checks(table)) {
      out.set(name, {
        name,
        columns: [],
        primaryKey: false,
        unique: false,
        foreignKey: undefined,
        check: clause,
        index: false,
        orders: [],
      });
    }
    const stats = await this.rows<Record<string, unknown>>(
      `SELECT INDEX_NAME AS name, COLUMN_NAME AS col, NON_UNIQUE AS nonUnique, COLLATION AS coll
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
      [table],
    );
    const indexes = new Map<string, { columns: string[]; orders: ('ASC' | 'DESC')[]; unique: boolean }>();
    for (const r of stats) {
      const name = String(r.name);
      const i = indexes.get(name) ?? { columns: [], orders: [], unique: Number(r.nonUnique) === 0 };
      i.columns.push(String(r.col));
      i.orders.push(r.coll === 'D' ? 'DESC' : 'ASC');
      indexes.set(name, i);
    }
    for (const [name, i] of indexes) {
      const existing = out.get(name);
      if (existing) {
        // A PRIMARY KEY, UNIQUE or FOREIGN KEY constraint is also an index of the same name.
        out.set(name, { ...existing, index: existing.foreignKey !== undefined ? true : existing.index, orders: i.orders });
        continue;
      }
      out.set(name, {
        name,
        columns: i.columns,
        primaryKey: false,
        unique: i.unique,
        foreignKey: undefined,
        check: undefined,
        index: true,
        orders: i.orders,
      });
    }
    return out;
  }
}
