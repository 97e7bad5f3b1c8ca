/**
 * ORM suite helpers: create the tables through the schema editor before a database's tests and
 * drop them after; run each test in a scope and a transaction rolled back at its end (Django's
 * TestCase), so tests never see each other's rows.
 */
import { atomic, scope, setRollback, shutdown } from '@spool/connections';
import type { TestDatabase } from '@spool/testing';
import { SchemaEditor } from '@spool/orm';
import { configureFor } from '../support/helpers';
import { ALL_MODELS, Author, Book, Publisher, Tag } from './models';

type Models = Parameters<SchemaEditor['createModels']>[0];

/** Configure `db`, (re)create the tables of `models` before the tests, drop them after. */
export function useTables(db: TestDatabase, models: Models = ALL_MODELS, extra: Parameters<typeof configureFor>[2] = {}): void {
  beforeAll(async () => {
    await db.setup();
    configureFor(db, {}, extra);
    await scope(async () => {
      const editor = new SchemaEditor();
      await editor.deleteModels(models, { ifExists: true });
      await editor.createModels(models);
    });
  });
  afterAll(async () => {
    await scope(() => new SchemaEditor().deleteModels(models, { ifExists: true }));
    await shutdown();
  });
}

/** Run `fn` in a scope, inside a transaction that is rolled back afterwards. */
export function inTx<T>(fn: () => Promise<T>): Promise<T> {
  return scope(() =>
    atomic(async () => {
      try {
        return await fn();
      } finally {
        setRollback(true);
      }
    }),
  );
}

/** A small library: 3 publishers, 4 authors, 6 books, 3 tags. */
export async function seedLibrary() {
  const [acme, globex, initech] = await Promise.all([
    Publisher.objects.create({ name: 'Acme', country: 'fr' }),
    Publisher.objects.create({ name: 'Globex', country: 'uk' }),
    Publisher.objects.create({ name: 'Initech' }),
  ]);
  const ann = await Author.objects.create({ name: 'Ann Archer', email: 'ann@example.com', age: 34, publisher: acme! });
  const bob = await Author.objects.create({ name: 'Bob Brown', email: 'bob@example.com', age: 51, publisher: globex! });
  const cat = await Author.objects.create({ name: 'cat carter', email: null, age: null, publisher: acme! });
  const dan = await Author.objects.create({ name: 'Dan Drake', email: 'dan@example.com', age: 28 });
  const books = {
    alpha: await Book.objects.create({ title: 'Alpha', pages: 120, price: '10.50', published: '2019-03-01', author: ann }),
    beta: await Book.objects.create({ title: 'Beta', pages: 320, price: '25.00', published: '2021-07-15', author: ann, editor: bob }),
    gamma: await Book.objects.create({ title: 'Gamma 100%', pages: 80, price: null, published: null, author: bob }),
    delta: await Book.objects.create({ title: 'delta_under', pages: 450, price: '40.00', published: '2021-01-10', author: bob }),
    eps: await Book.objects.create({ title: 'Epsilon \\ slash', pages: 200, price: '15.25', published: '2022-12-31', author: cat }),
    zeta: await Book.objects.create({ title: "Zeta's", pages: 90, price: '5.00', published: '2020-06-30', author: cat, editor: ann }),
  };
  const python = await Tag.objects.create({ name: 'python' });
  const web = await Tag.objects.create({ name: 'web' });
  const db = await Tag.objects.create({ name: 'db' });
  await books.alpha.tags.add(python, web);
  await books.beta.tags.add(python, db);
  await books.gamma.tags.add(web);
  await books.delta.tags.add(db);
  return {
    publishers: { acme: acme!, globex: globex!, initech: initech! },
    authors: { ann, bob, cat, dan },
    books,
    tags: { python, web, db },
  };
}

/** Sorted titles of books, for order-independent assertions. */
export function titles(books: readonly { title: string }[]): string[] {
  return books.map((b) => b.title).sort();
}

export const DIALECT_NAMES = { sqlite: 'sqlite', postgres: 'postgresql', mysql: 'mysql' } as const;
