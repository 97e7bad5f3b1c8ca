// Docs that compile: every ```ts block of README.md, packages/*/README.md and examples/*/README.md
// type-checks under strict settings against the built packages (conventions in test/docs/snippets.ts).
import { checkSnippets, readmes, snippets, type SnippetDiagnostic } from './snippets';

const files = readmes();
const all = files.flatMap((f) => snippets(f));
let diagnostics: SnippetDiagnostic[] = [];

beforeAll(() => {
  // No exceptions are tolerated: a block that does not compile fails its README's test.
  diagnostics = checkSnippets(all);
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
