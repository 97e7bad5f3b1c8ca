/** PostgreSQL introspection, from the catalogue (tables visible on the search path). */
import { Introspection, type ColumnInfo, type ConstraintInfo } from './introspection';

export class PostgresIntrospection extends Introspection {
  readonly vendor = 'postgresql' as const;

  async tableNames(): Promise<string[]> {
    const rows = await this.rows<{ name: string }>(
      `SELECT c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND pg_catalog.pg_table_is_visible(c.oid)
       ORDER BY c.relname`,
    );
    return rows.map((r) => r.name);
  }

  async columns(table: string): Promise<ColumnInfo[]> {
    const rows = await this.rows<Record<string, unknown>>(
      `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
              pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS dflt, a.attidentity <> '' AS identity,
              co.collname AS collation, co.oid <> t.typcollation AS collation_changed
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
       WHERE c.relname = $1 AND pg_catalog.pg_table_is_visible(c.oid) AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum`,
      [table],
    );
    return rows.map((r) => {
      const type = String(r.type);
      const size = /\((\d+)(?:,\s*(\d+))?\)/.exec(type);
      const dflt = r.dflt === null ? undefined : String(r.dflt);
      return {
        name: String(r.name),
        dataType: type,
        nullable: r.nullable === true,
        default: dflt,
        autoIncrement: r.identity === true || (dflt !== undefined && dflt.startsWith('nextval(')),
        maxLength: /^character varying|^character\(/.test(type) && size ? Number(size[1]) : undefined,
        precision: type.startsWith('numeric') && size ? Number(size[1]) : undefined,
        scale: type.startsWith('numeric') && size?.[2] !== undefined ? Number(size[2]) : undefined,
        collation: r.collation_changed === true && r.collation ? String(r.collation) : undefined,
        json: type === 'jsonb' || type === 'json',
      };
    });
  }

  async constraints(table: string): Promise<Map<string, ConstraintInfo>> {
    const out = new Map<string, ConstraintInfo>();
    const cons = await this.rows<Record<string, unknown>>(
      `SELECT c.conname AS name, c.contype AS type,
              array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS columns,
              fr.relname AS ftable,
              (SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.confrelid AND a.attnum = c.confkey[1]) AS fcolumn,
              pg_catalog.pg_get_constraintdef(c.oid) AS def
       FROM pg_catalog.pg_constraint c
       JOIN pg_catalog.pg_class cl ON cl.oid = c.conrelid
       LEFT JOIN pg_catalog.pg_class fr ON fr.oid = c.confrelid
       WHERE cl.relname = $1 AND pg_catalog.pg_table_is_visible(cl.oid)`,
      [table],
    );
    for (const r of cons) {
      const type = String(r.type);
      const columns = (r.columns as string[]) ?? [];
      out.set(String(r.name), {
        name: String(r.name),
        columns,
        primaryKey: type === 'p',
        unique: type === 'p' || type === 'u',
        foreignKey: type === 'f' ? { table: String(r.ftable), column: String(r.fcolumn) } : undefined,
        check: type === 'c' ? String(r.def).replace(/^CHECK \((.*)\)$/s, '$1') : undefined,
        index: false,
        orders: columns.map(() => 'ASC' as const),
      });
    }
    const idx = await this.rows<Record<string, unknown>>(
      `SELECT ic.relname AS name, i.indisunique AS uniq, i.indisprimary AS pk,
              array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS columns,
              array(SELECT CASE WHEN pg_catalog.pg_index_column_has_property(i.indexrelid, k.o::int, 'desc') THEN 'DESC' ELSE 'ASC' END
                    FROM unnest(i.indkey) WITH ORDINALITY k(n, o) ORDER BY k.o)::text[] AS orders
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
       WHERE t.relname = $1 AND pg_catalog.pg_table_is_visible(t.oid)`,
      [table],
    );
    for (const r of idx) {
      const name = String(r.name);
      if (out.has(name)) continue; // the index behind a PRIMARY KEY / UNIQUE constraint
      out.set(name, {
        name,
        columns: (r.columns as string[]) ?? [],
        primaryKey: r.pk === true,
        unique: r.uniq === true,
        foreignKey: undefined,
        check: undefined,
        index: true,
        orders: ((r.orders as string[]) ?? []).map((o) => (o === 'DESC' ? 'DESC' : 'ASC')),
      });
    }
    return out;
  }
}
