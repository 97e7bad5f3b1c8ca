// Docs that compile: every ```ts block of README.md, packages/*/README.md and examples/*/README.md
// type-checks under strict settings against the built packages (conventions in test/docs/snippets.ts).
import { checkSnippets, readmes, snippets, type SnippetDiagnostic } from './snippets';

/**
 * Diagnostics owed to a known bug elsewhere, tolerated (not required) until it is fixed. Keep this
 * list empty: each entry names what fixes it.
 */
const KNOWN: Array<{ file: string; message: RegExp; fixedBy: string }> = [
  {
    file: 'README.md',
    message: /'settled' does not exist in type 'FanOutOptions'/,
    fixedBy: "the connections restructuring (issue 8) adds 'settled' to FanOutOptions",
  },
];

const files = readmes();
const all = files.flatMap((f) => snippets(f));
let diagnostics: SnippetDiagnostic[] = [];

beforeAll(() => {
  diagnostics = checkSnippets(all).filter((d) => !KNOWN.some((k) => k.file === d.snippet.file && k.message.test(d.message)));
}, 120_000);

test('the READMEs have TypeScript blocks to check', () => {
  expect(all.length).toBeGreaterThan(20);
  expect(new Set(all.map((s) => s.file)).size).toBeGreaterThan(3);
});

test.each(files.map((f) => [f.replace(/^.*?\/(?=README|packages|examples)/, '')]))('%s: every ts block compiles', (file) => {
  const mine = diagnostics.filter((d) => d.snippet.file === file || d.line === 0);
  expect(mine.map((d) => `${d.snippet.file}:${d.line}: ${d.message}`)).toEqual([]);
});

test('a block that does not compile is reported at its README line', () => {
  const broken = checkSnippets([
    { file: 'README.md', line: 10, code: "import { sql } from '@spool/connections';\nconst n: number = 'x';" },
  ]);
  expect(broken.map((d) => `${d.snippet.file}:${d.line}: ${d.message}`)).toEqual([
    "README.md:11: Type 'string' is not assignable to type 'number'.",
  ]);
}, 120_000);
