// The type tests (test/orm-types) compile with tsc: inferred row/insert/update types, values()
// rows, and the `@ts-expect-error` cases (unknown fields, wrong value types) that must not compile.
// The compiler's error messages name the model (issue 9): a small project with deliberate errors
// is compiled and the text of each error is checked.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

test('tsc -p test/orm-types compiles (type assertions hold, wrong code is rejected)', () => {
  const res = spawnSync(process.execPath, [tsc, '-p', join(root, 'test', 'orm-types')], { cwd: root, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`tsc failed (exit ${res.status}):\n${res.stdout}${res.stderr}`);
  expect(res.status).toBe(0);
}, 120_000);

/**
 * The two ways the README defines a model: with `declare static objects: Manager<Book>` (query
 * results are `Book`), and without (results are the instance type of the class `Model.define()`
 * made). Each line marked `// error: <text>` must fail to compile with a message containing <text>.
 */
const SOURCE = `import { CharField, Count, ForeignKey, IntegerField, Model, type Manager } from '@spool/orm';

// Declared manager.
export class Author extends Model.define({ name: new CharField({ maxLength: 100 }) }, { dbTable: 'author' }) {
  declare static objects: Manager<Author>;
}
export class Book extends Model.define(
  {
    title: new CharField({ maxLength: 200 }),
    pages: new IntegerField({ default: 100 }),
    author: new ForeignKey(() => Author, { onDelete: 'cascade' }),
  },
  { dbTable: 'book' },
) {
  declare static objects: Manager<Book>;
}
// No declaration.
export class Tag extends Model.define({ name: new CharField({ maxLength: 50, unique: true }) }, { dbTable: 'tag' }) {}

export async function wrong(): Promise<void> {
  Book.objects.filter({ titel: 'x' }); // error: 'titel' does not exist in type 'FilterArg<Book, Empty>'
  Book.objects.exclude({ author__nmae: 'x' }); // error: 'author__nmae' does not exist in type 'FilterArg<Book, Empty>'
  Book.objects.values('nope'); // error: 'ValuesKey<Book, Empty>'
  Book.objects.orderBy('-nope'); // error: OrderTerm<Book, Empty>
  Book.objects.annotate({ n: Count('id') }).filter({ n__gt: 'x' }); // error: Type 'string' is not assignable to type 'number | Expr
  const n1: number = await Book.objects.get({ title: 'x' }); // error: Type 'Book' is not assignable to type 'number'
  const n2: number = (await Book.objects.filter({ pages__gt: 1 }))[0]!; // error: Type 'Book' is not assignable to type 'number'
  const n3: number = new Tag({ name: 'x' }); // error: Type 'Tag' is not assignable to type 'number'
  const b = new Book({ title: 'x', author: 1 });
  b.author = new Tag({ name: 'x' }); // error: Type 'Tag' is not assignable to type 'Author'
  b.pages = 'x'; // error: Type 'string' is not assignable to type 'number'
  void [n1, n2, n3];
}
`;

test('compiler errors name the model (Book, not its expanded field map)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-type-errors-'));
  try {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'models.ts'), SOURCE);
    // The compiler options of a user's project (shared with bench/typecheck.mjs).
    const compilerOptions: unknown = JSON.parse(
      readFileSync(join(__dirname, '..', 'support', 'user-project-compiler-options.json'), 'utf8'),
    );
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['models.ts'] }));
    const res = spawnSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false', '--noErrorTruncation'], { cwd: dir, encoding: 'utf8' });
    // First line of each diagnostic, by line number.
    const byLine = new Map<number, string>();
    for (const m of res.stdout.matchAll(/^models\.ts\((\d+),\d+\): error (TS\d+: .*)$/gm)) {
      const line = Number(m[1]);
      byLine.set(line, `${byLine.get(line) ?? ''}${m[2]}\n`);
    }
    const lines = SOURCE.split('\n');
    const expected = lines.flatMap((text, i) => {
      const m = /\/\/ error: (.*)$/.exec(text);
      return m ? [{ line: i + 1, text: m[1] as string }] : [];
    });
    expect(expected.length).toBe(10);
    for (const { line, text } of expected) {
      const got = byLine.get(line);
      if (got === undefined || !got.includes(text)) {
        throw new Error(
          `line ${line} (${lines[line - 1]?.trim()}): expected an error containing ${JSON.stringify(text)}, got ${JSON.stringify(got)}.\n${res.stdout}`,
        );
      }
      expect(got).not.toContain('ModelInstance<');
    }
    // No other errors (each deliberate one is on its own line).
    expect([...byLine.keys()].sort((a, b) => a - b)).toEqual(expected.map((e) => e.line));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
