/**
 * SQLite introspection, from the pragmas and the `CREATE TABLE` text (SQLite keeps the names of
 * table constraints only there).
 */
import { Introspection, type ColumnInfo, type ConstraintInfo } from './introspection';

/** The text between the parenthesis at `open` and its match. @internal */
export function balanced(text: string, open: number): string | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(') depth += 1;
    else if (ch === ')') {
      depth -= 1;
      if (depth === 0) return text.slice(open + 1, i);
    }
  }
  return undefined;
}

const unquote = (s: string) => s.trim().replace(/^["`[](.*)["`\]]$/, '$1');

export class SqliteIntrospection extends Introspection {
  readonly vendor = 'sqlite' as const;

  async tableNames(): Promise<string[]> {
    const rows = await this.rows<{ name: string }>(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
    );
    return rows.map((r) => r.name);
  }

  private async tableSql(table: string): Promise<string> {
    const [row] = await this.rows<{ sql: string }>(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, [table]);
    return row?.sql ?? '';
  }

  async columns(table: string): Promise<ColumnInfo[]> {
    const sql = await this.tableSql(table);
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT name, type, "notnull" AS nn, dflt_value AS dflt, pk FROM pragma_table_info(?) ORDER BY cid`,
      [table],
    );
    const pkCount = rows.filter((r) => Number(r.pk) > 0).length;
    return rows.map((r) => {
      const name = String(r.name);
      const type = String(r.type).toLowerCase();
      const size = /\((\d+)(?:,\s*(\d+))?\)/.exec(type);
      const q = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return {
        name,
        dataType: type,
        nullable: Number(r.nn) === 0 && Number(r.pk) === 0,
        default: r.dflt === null ? undefined : String(r.dflt),
        autoIncrement: Number(r.pk) > 0 && pkCount === 1 && type === 'integer' && /\bAUTOINCREMENT\b/i.test(sql),
        maxLength: /^(var)?char/.test(type) && size ? Number(size[1]) : undefined,
        precision: /^(decimal|numeric)/.test(type) && size ? Number(size[1]) : undefined,
        scale: /^(decimal|numeric)/.test(type) && size?.[2] !== undefined ? Number(size[2]) : undefined,
        collation: undefined,
        json: new RegExp(`JSON_VALID\\(\\s*["\`]?${q}["\`]?\\s*\\)`, 'i').test(sql),
      };
    });
  }

  async constraints(table: string): Promise<Map<string, ConstraintInfo>> {
    const out = new Map<string, ConstraintInfo>();
    const sql = await this.tableSql(table);
    const cols = await this.rows<{ name: string; pk: number }>(`SELECT name, pk FROM pragma_table_info(?) ORDER BY pk`, [table]);
    const pk = cols.filter((c) => Number(c.pk) > 0).map((c) => c.name);
    if (pk.length > 0) out.set('__primary__', info('__primary__', pk, { primaryKey: true, unique: true }));
    // Named table constraints, from the CREATE TABLE text.
    const named = /CONSTRAINT\s+("[^"]+"|`[^`]+`|\w+)\s+(UNIQUE|CHECK)\s*\(/gi;
    const uniqueNames = new Map<string, string>();
    for (let m = named.exec(sql); m; m = named.exec(sql)) {
      const name = unquote(m[1] as string);
      const body = balanced(sql, m.index + m[0].length - 1) ?? '';
      if ((m[2] as string).toUpperCase() === 'UNIQUE') {
        const columns = body.split(',').map(unquote);
        out.set(name, info(name, columns, { unique: true }));
        uniqueNames.set(columns.join('\u0000'), name);
      } else {
        out.set(name, info(name, [], { check: body }));
      }
    }
    const fks = await this.rows<Record<string, unknown>>(
      `SELECT id, seq, "table" AS ref, "from" AS col, "to" AS tocol FROM pragma_foreign_key_list(?) ORDER BY id, seq`,
      [table],
    );
    for (const r of fks) {
      const name = `fk_${String(r.id)}`;
      const existing = out.get(name);
      if (existing) (existing.columns as string[]).push(String(r.col));
      else out.set(name, info(name, [String(r.col)], { foreignKey: { table: String(r.ref), column: String(r.tocol) } }));
    }
    const indexes = await this.rows<{ name: string; uniq: number; origin: string }>(
      `SELECT name, "unique" AS uniq, origin FROM pragma_index_list(?)`,
      [table],
    );
    for (const idx of indexes) {
      const parts = await this.rows<{ name: string; desc: number; key: number }>(
        `SELECT name, "desc", "key" FROM pragma_index_xinfo(?) WHERE "key" = 1 ORDER BY seqno`,
        [idx.name],
      );
      const columns = parts.map((p) => p.name);
      const orders = parts.map((p) => (Number(p.desc) === 1 ? ('DESC' as const) : ('ASC' as const)));
      if (idx.origin === 'pk') continue;
      if (idx.origin === 'u') {
        // The automatic index of a UNIQUE constraint: report it under the constraint's name.
        const name = uniqueNames.get(columns.join('\u0000'));
        if (name) continue;
        out.set(idx.name, info(idx.name, columns, { unique: true }));
        continue;
      }
      out.set(idx.name, { ...info(idx.name, columns, { unique: Number(idx.uniq) === 1, index: true }), orders });
    }
    return out;
  }
}

function info(name: string, columns: string[], o: Partial<ConstraintInfo>): ConstraintInfo {
  return {
    name,
    columns,
    primaryKey: o.primaryKey ?? false,
    unique: o.unique ?? false,
    foreignKey: o.foreignKey,
    check: o.check,
    index: o.index ?? false,
    orders: columns.map(() => 'ASC' as const),
  };
}
