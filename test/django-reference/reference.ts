/**
 * The Django reference for Spool's tests: the shared dataset (dataset.json) loaded into the models
 * of test/orm/models.ts through Spool's public ORM API, and Django 3.2's answers to the catalogue
 * of queries (expected/*.json, written by oracle.py) by query name and database.
 *
 * ### Examples
 * ```ts
 * eachDatabase('exclude', (db) => {
 *   useTables(db);
 *   test('exclude(a, b) is NOT (a AND b)', () =>
 *     inTx(async () => {
 *       await loadReferenceData();
 *       const ids = await Author.objects.exclude({ books__pages__gt: 300, books__price__lt: 20 }).orderBy('id').valuesList('id', { flat: true });
 *       expect(ids).toEqual(djangoValue('issue9.exclude_relation_one_call', db.name));
 *     }));
 * });
 * ```
 * See README.md in this folder for the encoding of values (decimals and big integers as strings).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomic, connections, sql } from '@spool/connections';
import { BigIntegerField, DateField, DateTimeField, ForeignKey, JSONField, ManyToManyField, OneToOneField, Value } from '@spool/orm';
import type { TestDatabaseName } from '@spool/testing';
import { Author, Book, Category, Profile, Publisher, Review, Sample, Tag } from '../orm/models';

/** The models the dataset fills, in insertion order (the order of test/orm/models.ts). */
export const REFERENCE_MODELS = [Publisher, Author, Tag, Book, Profile, Review, Category, Sample] as const;

/** The name of a model of the dataset. */
export type ReferenceModelName = 'Publisher' | 'Author' | 'Tag' | 'Book' | 'Profile' | 'Review' | 'Category' | 'Sample';

/** One row of dataset.json: field name → encoded value (see README.md). */
export type ReferenceRow = Record<string, unknown>;

/** dataset.json. */
export interface ReferenceDataset {
  readonly description: string;
  readonly seed: number;
  readonly encoding: Record<string, string>;
  readonly models: Record<ReferenceModelName, ReferenceRow[]>;
}

/** Django's answer to one query on one database. */
export interface DjangoAnswer {
  /** The result, encoded (Decimal and integers beyond 2^53 as strings, instants as ISO strings); absent when Django raised. */
  readonly value?: unknown;
  /** The Python types of the result, in its shape (per column for rows). */
  readonly types?: unknown;
  /** `false` when the query set had no ordering (the oracle sorted the rows: compare without order). */
  readonly ordered?: false;
  /** The exception Django raised, if it did. */
  readonly error?: { readonly class: string; readonly module: string; readonly message: string };
  /** The SQL Django ran, parameters interpolated. */
  readonly sql: readonly string[];
}

/** One query of the catalogue: its Django spelling and the answers per database. */
export interface ReferenceQuery {
  readonly description: string;
  /** The body of the Django function in queries.py. */
  readonly django: string;
  /** The Spool spelling, where queries.py gives one. */
  readonly spool?: string;
  readonly same_on_all_databases: boolean;
  readonly results: Record<TestDatabaseName, DjangoAnswer>;
}

const HERE = __dirname;
let datasetCache: ReferenceDataset | undefined;
const sections = new Map<string, Record<string, ReferenceQuery>>();

/** dataset.json, parsed once. */
export function referenceDataset(): ReferenceDataset {
  datasetCache ??= JSON.parse(readFileSync(join(HERE, 'dataset.json'), 'utf8')) as ReferenceDataset;
  return datasetCache;
}

/** A query of the catalogue by name (`'issue9.exclude_relation_one_call'`); throws if there is none. */
export function referenceQuery(name: string): ReferenceQuery {
  const section = name.split('.', 1)[0] ?? '';
  if (!/^[a-z0-9_]+$/.test(section)) throw new Error(`Django reference: '${name}' is not a query name (<section>.<name>).`);
  let queries = sections.get(section);
  if (!queries) {
    let text: string;
    try {
      text = readFileSync(join(HERE, 'expected', `${section}.json`), 'utf8');
    } catch {
      throw new Error(`Django reference: no section '${section}' (no expected/${section}.json); see test/django-reference/README.md.`);
    }
    queries = (JSON.parse(text) as { queries: Record<string, ReferenceQuery> }).queries;
    sections.set(section, queries);
  }
  const q = queries[name];
  if (!q) throw new Error(`Django reference: no query '${name}' in expected/${section}.json (regenerate with oracle.py?).`);
  return q;
}

/** Django's answer to `name` on `db` (the value, or the error Django raised). */
export function djangoAnswer(name: string, db: TestDatabaseName): DjangoAnswer {
  const answer = referenceQuery(name).results[db];
  if (!answer) throw new Error(`Django reference: '${name}' has no answer for ${db}.`);
  return answer;
}

/** Django's value for `name` on `db`; throws if Django raised there (use djangoAnswer() to assert the error). */
export function djangoValue<T = unknown>(name: string, db: TestDatabaseName): T {
  const answer = djangoAnswer(name, db);
  if (answer.error) {
    throw new Error(`Django reference: on ${db}, Django raises for '${name}': ${answer.error.class}: ${answer.error.message}`);
  }
  return answer.value as T;
}

/**
 * A decimal string without insignificant zeros (`'5765.84000000000'` → `'5765.84'`, `'20.00'` → `'20'`):
 * Django's Decimal results carry backend-dependent trailing zeros (see README.md); compare
 * normalised strings when the test is about the value rather than its scale.
 */
export function normaliseDecimal(value: string): string {
  const m = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(value.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`normaliseDecimal: ${JSON.stringify(value)} is not a decimal string.`);
  // Python's str(Decimal) may use an exponent ('0E-10', '1.5E+3'): shift the point by it.
  let digits = `${m[2] ?? ''}${m[3] ?? ''}`;
  let point = (m[2] ?? '').length + Number(m[4] ?? 0);
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits = digits.padEnd(point, '0');
  const int = digits.slice(0, point).replace(/^0+(?=\d)/, '') || '0';
  const frac = digits.slice(point).replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  return body === '0' ? '0' : `${m[1] === '-' ? '-' : ''}${body}`;
}

/** Rows inserted per model (and `Book.tags` links) by loadReferenceData(). */
export type LoadedCounts = Record<ReferenceModelName | 'Book.tags', number>;

type AnyManager = {
  bulkCreate(objs: unknown[]): Promise<unknown[]>;
  filter(q: unknown): { update(values: Record<string, unknown>): Promise<number> };
};

/**
 * Insert dataset.json into the tables of the reference models (created beforehand, e.g. with
 * useTables() of test/orm/support.ts), inside the current scope, as one atomic block.
 *
 * Everything goes through the public ORM API: `bulkCreate()` with the dataset's primary keys,
 * `book.tags.add()`, and `update()` for what `bulkCreate()` cannot write as given: the values of
 * `autoNow`/`autoNowAdd` fields (`Review.created`, set to "now" on insert as in Django) and
 * documents that are JSON `null` (`Value('null')`, as in Django; `null` is SQL NULL). On
 * PostgreSQL the id sequences are moved past the loaded ids (Django's `sqlsequencereset`), so
 * later inserts get fresh ids.
 *
 * Values are passed in their lossless form: decimals as strings, `BigIntegerField` values as
 * `bigint`, instants as ISO strings with six fractional digits. What the database then holds is
 * what Spool writes: every value exactly, instants with their microseconds, as in Django's copy.
 */
export async function loadReferenceData(options: { using?: string } = {}): Promise<LoadedCounts> {
  const alias = options.using ?? 'default';
  const data = referenceDataset();
  const counts = {} as LoadedCounts;
  await atomic(
    async () => {
      for (const model of REFERENCE_MODELS) {
        const meta = model.$meta;
        const name = meta.name as ReferenceModelName;
        const rows = data.models[name];
        const manager = model.objects.using(alias) as unknown as AnyManager;
        const later: Array<[unknown, string, unknown]> = []; // (pk, field, value) written by update()
        const links: Array<[unknown, number[]]> = [];
        const inputs = rows.map((row) => {
          const input: Record<string, unknown> = {};
          for (const [key, raw] of Object.entries(row)) {
            const field = meta.field(key);
            if (!field) throw new Error(`Django reference: ${name} has no field '${key}' (dataset.json and test/orm/models.ts disagree).`);
            if (field instanceof ManyToManyField) {
              links.push([row.id, raw as number[]]);
            } else if (field instanceof ForeignKey || field instanceof OneToOneField) {
              input[field.attname] = raw;
            } else if (field instanceof JSONField) {
              const doc = raw === null ? null : (raw as { json: unknown }).json;
              if (raw !== null && doc === null) later.push([row.id, key, new Value('null')]);
              input[key] = doc;
            } else if ((field instanceof DateTimeField || field instanceof DateField) && (field.autoNow || field.autoNowAdd)) {
              later.push([row.id, key, raw]);
            } else {
              input[key] = field instanceof BigIntegerField && typeof raw === 'string' ? BigInt(raw) : raw;
            }
          }
          return input;
        });
        const created = await manager.bulkCreate(inputs);
        for (const [pk, key, value] of later) await manager.filter({ pk }).update({ [key]: value });
        const byId = new Map(created.map((o) => [(o as { $pk: unknown }).$pk, o as { tags: { add(...ids: number[]): Promise<void> } }]));
        for (const [id, tagIds] of links) {
          const book = byId.get(id);
          if (!book) throw new Error(`Django reference: ${name} ${String(id)} was not created.`);
          if (tagIds.length > 0) await book.tags.add(...tagIds);
        }
        counts[name] = rows.length;
      }
      counts['Book.tags'] = data.models.Book.reduce((n, b) => n + (b.tags as number[]).length, 0);
      if (connections.backend(alias).vendor === 'postgresql') await resetSequences(alias);
    },
    { using: alias },
  );
  return counts;
}

/** Move PostgreSQL's id sequences past the loaded ids (as Django's `sqlsequencereset`). */
async function resetSequences(alias: string): Promise<void> {
  const tags = Book.$meta.field('tags') as ManyToManyField<unknown>;
  const tables = [
    ...REFERENCE_MODELS.filter((m) => m.$meta.pk.autoGenerated).map((m) => m.$meta.dbTable),
    Book.$meta.throughFor(tags).dbTable,
  ];
  for (const table of tables) {
    await sql.using(alias)`SELECT setval(pg_get_serial_sequence(${table}, 'id'), COALESCE((SELECT MAX(id) FROM ${sql.id(table)}), 1))`;
  }
}
