/**
 * `spool inspectdb [tables...]`: models for an existing database, as a TypeScript file to edit
 * (Django's `inspectdb`, Prisma's `db pull`): one model per table, fields from the columns
 * (types, sizes, NULL, unique), foreign keys as ForeignKey (onDelete 'doNothing', as Django
 * writes them: decide the real rule), indexes and unique groups in the options. Fields are named
 * in camelCase after their columns (`created_at` → `createdAt`, `author_id` → `author`); tables are
 * kept by name (`dbTable`) and columns by `dbColumn` wherever the naming strategy (snake_case unless
 * `setNamingStrategy()` changed it) would give the field another column, so the models round-trip.
 */
import { writeFileSync } from 'node:fs';
import { scope, connections, type Vendor } from '@spool/connections';
import { namingStrategy } from '@spool/orm';
import { constraintName, introspectionFor, RECORDER_TABLE, type ColumnInfo, type ConstraintInfo } from '@spool/orm/migrations';
import { EXIT, type ExitCode } from '../exit-codes';
import type { Output } from '../output/output';
import type { Project } from './project';

const RESERVED = new Set([
  'pk',
  'constructor',
  'prototype',
  'then',
  'toString',
  'toJSON',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  'objects',
  'DoesNotExist',
  'MultipleObjectsReturned',
]);

const pascal = (s: string) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('') || 'Table';
const camel = (s: string) => {
  const p = pascal(s);
  return p.charAt(0).toLowerCase() + p.slice(1);
};

/** A field name for a column (and whether the column must be named). */
function fieldName(column: string, fk: boolean, taken: Set<string>): string {
  let base = column;
  if (fk) base = column.replace(/_id$|Id$/, '') || column;
  let name = /^[a-z][A-Za-z0-9]*$/.test(base) ? base : camel(base);
  if (/^[0-9]/.test(name)) name = `field${name}`;
  if (RESERVED.has(name) || (name === 'id' && fk)) name = `${name}Field`;
  while (taken.has(name)) name = `${name}_`.replace(/_$/, '2');
  taken.add(name);
  return name;
}

interface FieldCode {
  name: string;
  code: string;
  comment?: string;
}

function scalar(col: ColumnInfo, vendor: Vendor): { cls: string; opts: string[]; comment?: string } {
  const t = col.dataType;
  if (col.json) return { cls: 'JSONField', opts: [] };
  if (/^(character varying|varchar)\((\d+)\)/.test(t))
    return { cls: 'CharField', opts: [`maxLength: ${col.maxLength ?? /\((\d+)\)/.exec(t)?.[1]}`] };
  if (/^(character|char)\(32\)$/.test(t) || t === 'uuid') return { cls: 'UUIDField', opts: [] };
  if (/^(character|char)\((\d+)\)/.test(t))
    return { cls: 'CharField', opts: [`maxLength: ${/\((\d+)\)/.exec(t)?.[1]}`], comment: 'fixed-width char column' };
  if (/^(bigint|int8)\b/.test(t)) return { cls: 'BigIntegerField', opts: [] };
  if (/^(integer|int|int4|int\(\d+\)|mediumint|smallint|int2|smallint\(\d+\))\b/.test(t)) return { cls: 'IntegerField', opts: [] };
  if (/^(tinyint\(1\)|boolean|bool)$/.test(t)) return { cls: 'BooleanField', opts: [] };
  if (/^(numeric|decimal)\((\d+),\s*(\d+)\)/.test(t)) {
    const m = /\((\d+),\s*(\d+)\)/.exec(t) as RegExpExecArray;
    return { cls: 'DecimalField', opts: [`maxDigits: ${m[1]}`, `decimalPlaces: ${m[2]}`] };
  }
  if (/^(numeric|decimal)$/.test(t))
    return {
      cls: 'DecimalField',
      opts: ['maxDigits: 10', 'decimalPlaces: 2'],
      comment: 'TODO: the database does not record the digits; check maxDigits and decimalPlaces',
    };
  if (/^(double precision|double|real|float|float8|float4)/.test(t)) return { cls: 'FloatField', opts: [] };
  if (/^(timestamp with time zone|timestamptz|datetime(\(6\))?)$/.test(t)) return { cls: 'DateTimeField', opts: [] };
  if (t === 'date') return { cls: 'DateField', opts: [] };
  if (/^(text|longtext|mediumtext|tinytext|clob)$/.test(t)) return { cls: 'TextField', opts: [] };
  return { cls: 'TextField', opts: [], comment: `TODO: unknown column type '${t}' on ${vendor}` };
}

export interface InspectedModel {
  readonly table: string;
  readonly className: string;
  readonly source: string;
}

/** Models for `tables` (all but Spool's own when none) of `alias`, as TypeScript. */
export async function inspect(alias: string, only: readonly string[] = []): Promise<{ source: string; models: InspectedModel[] }> {
  const vendor = connections.backend(alias).vendor;
  const intro = introspectionFor(alias);
  const all = await intro.tableNames();
  for (const t of only) if (!all.includes(t)) throw new Error(`inspectdb: no table '${t}' on '${alias}'. Tables: ${all.join(', ')}.`);
  const tables = (only.length > 0 ? [...only] : all.filter((t) => t !== RECORDER_TABLE && !t.startsWith('sqlite_'))).sort();
  const classOf = new Map<string, string>();
  const used = new Set<string>();
  for (const t of all) {
    let c = pascal(t);
    while (used.has(c)) c = `${c}2`;
    used.add(c);
    classOf.set(t, c);
  }
  const naming = namingStrategy();
  const imports = new Set<string>(['Model']);
  const models: InspectedModel[] = [];
  for (const table of tables) {
    const cls = classOf.get(table) as string;
    const columns = await intro.columns(table);
    const constraints = [...(await intro.constraints(table)).values()];
    const pk = constraints.find((c) => c.primaryKey);
    const fks = new Map<string, ConstraintInfo>();
    for (const c of constraints) if (c.foreignKey && c.columns.length === 1) fks.set(c.columns[0] as string, c);
    const single = (col: string, pred: (c: ConstraintInfo) => boolean) =>
      constraints.some((c) => c.columns.length === 1 && c.columns[0] === col && pred(c));
    const taken = new Set<string>();
    const byColumn = new Map<string, string>();
    const fields: FieldCode[] = [];
    const fkTargets = new Map<string, number>();
    for (const c of fks.values()) fkTargets.set(c.foreignKey?.table as string, (fkTargets.get(c.foreignKey?.table as string) ?? 0) + 1);
    for (const col of columns) {
      const fk = fks.get(col.name);
      const name = fieldName(col.name, fk !== undefined, taken);
      byColumn.set(col.name, name);
      const opts: string[] = [];
      let code: string;
      let comment: string | undefined;
      const isPk = pk?.columns.length === 1 && pk.columns[0] === col.name;
      if (isPk && col.autoIncrement) {
        const big = /^(bigint|int8)/.test(col.dataType);
        imports.add(big ? 'BigAutoField' : 'AutoField');
        const dbColumn = col.name !== naming.columnName(name) ? `{ dbColumn: '${col.name}' }` : '';
        fields.push({ name, code: `new ${big ? 'BigAutoField' : 'AutoField'}(${dbColumn})` });
        continue;
      }
      if (fk) {
        const target = fk.foreignKey?.table as string;
        const targetCls = classOf.get(target) ?? pascal(target);
        imports.add('ref');
        opts.push(`onDelete: 'doNothing'`);
        if (col.nullable) opts.push('null: true');
        if (col.name !== naming.foreignKeyColumnName(name)) opts.push(`dbColumn: '${col.name}'`);
        if ((fkTargets.get(target) ?? 0) > 1 || target === table) opts.push(`relatedName: '${camel(`${cls}_${name}_set`)}'`);
        const kind = single(col.name, (c) => c.unique && !c.primaryKey) ? 'OneToOneField' : 'ForeignKey';
        imports.add(kind);
        code = `new ${kind}(ref<${targetCls}>(() => ${targetCls}), { ${opts.join(', ')} })`;
        if (!tables.includes(target) && !only.includes(target) && only.length > 0) comment = `${targetCls} is not in this file`;
      } else {
        const s = scalar(col, vendor);
        imports.add(s.cls);
        opts.push(...s.opts);
        if (isPk) opts.push('primaryKey: true');
        if (col.nullable) opts.push('null: true');
        if (!isPk && single(col.name, (c) => c.unique && !c.primaryKey && !c.index)) opts.push('unique: true');
        else if (!isPk && single(col.name, (c) => c.index && !c.unique && !c.foreignKey)) opts.push('dbIndex: true');
        if (col.name !== naming.columnName(name)) opts.push(`dbColumn: '${col.name}'`);
        if (col.collation && (s.cls === 'CharField' || s.cls === 'TextField')) opts.push(`dbCollation: '${col.collation}'`);
        code = `new ${s.cls}(${opts.length > 0 ? `{ ${opts.join(', ')} }` : ''})`;
        comment = s.comment;
      }
      fields.push({ name, code, comment });
    }
    // Table options: unique groups, indexes.
    const meta: string[] = [`dbTable: '${table}'`];
    const together: string[] = [];
    const indexes: string[] = [];
    const constraintsCode: string[] = [];
    for (const c of constraints) {
      if (c.primaryKey || c.foreignKey || c.check !== undefined) continue;
      const names = c.columns.map((col) => byColumn.get(col));
      if (names.some((n) => n === undefined)) continue;
      if (c.columns.length === 1 && (c.unique || !c.orders.includes('DESC'))) {
        // Single-column unique constraints and plain indexes are field options (above); a named
        // unique index is kept as an Index.
        if (!(c.index && c.unique)) continue;
      }
      const fieldsList = names.map((n, i) => `'${c.orders[i] === 'DESC' ? '-' : ''}${n}'`).join(', ');
      if (c.unique && !c.index && c.name === constraintName(table, c.columns, 'uniq'))
        together.push(`[${names.map((n) => `'${n}'`).join(', ')}]`);
      else if (c.unique && !c.index) {
        imports.add('UniqueConstraint');
        constraintsCode.push(`new UniqueConstraint({ fields: [${names.map((n) => `'${n}'`).join(', ')}], name: '${c.name}' })`);
      } else {
        imports.add('Index');
        indexes.push(`new Index({ fields: [${fieldsList}], name: '${c.name}'${c.unique ? ', unique: true' : ''} })`);
      }
    }
    if (together.length > 0) meta.push(`uniqueTogether: [${together.join(', ')}]`);
    if (indexes.length > 0) meta.push(`indexes: [${indexes.join(', ')}]`);
    if (constraintsCode.length > 0) meta.push(`constraints: [${constraintsCode.join(', ')}]`);
    const lines = fields.map((f) => `    ${f.name}: ${f.code},${f.comment ? ` // ${f.comment}` : ''}`);
    const source = `export class ${cls} extends Model.define(\n  {\n${lines.join('\n')}\n  },\n  { ${meta.join(', ')} },\n) {}\n`;
    models.push({ table, className: cls, source });
  }
  const header = [
    `// Generated by spool inspectdb from the '${alias}' database (${vendor}) on ${new Date().toISOString().slice(0, 10)}.`,
    `// Review it: foreign keys are written with onDelete 'doNothing' (choose the real rule), defaults are not`,
    `// read back, and many-to-many tables appear as models of their own. Rename classes freely (tables are`,
    `// pinned with dbTable); a field without dbColumn gets its column from its name (createdAt: created_at),`,
    `// so add dbColumn before renaming one.`,
    `import { ${[...imports].sort().join(', ')} } from '@spool/orm';`,
    '',
  ].join('\n');
  return { source: `${header}\n${models.map((m) => m.source).join('\n')}`, models };
}

export async function inspectdb(
  project: Project,
  tables: string[],
  opts: { database: string; output?: string },
  out: Output,
): Promise<ExitCode> {
  project.connect(opts.database);
  const { source, models } = await scope(() => inspect(opts.database, tables));
  if (opts.output) {
    writeFileSync(opts.output, source);
    if (!out.json) out.stderr.write(`Wrote ${models.length} model(s) to ${opts.output}\n`);
  } else if (!out.json) out.stdout.write(source);
  out.result({ ok: true, database: opts.database, models: models.map((m) => ({ table: m.table, className: m.className })), source });
  return EXIT.OK;
}
