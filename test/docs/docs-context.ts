// The names README examples take from their surroundings, with the types the prose gives them.
// A ```ts block that uses one of these without declaring it gets it imported from here (see
// snippets.ts). The models are those of packages/orm/README.md.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResourceLimits } from 'node:worker_threads';
import express from 'express';
import Fastify from 'fastify';
import { CharField, DateField, ForeignKey, IntegerField, ManyToManyField, Model, ReverseForeignKey, type Manager, ref } from '@spool/orm';
import type { WorkerPool } from '@spool/workers';

export { default as http } from 'node:http';

export class Publisher extends Model.define({ name: new CharField({ maxLength: 100 }) }, { dbTable: 'publisher' }) {}

export class Author extends Model.define(
  {
    name: new CharField({ maxLength: 100 }),
    age: new IntegerField({ null: true }),
    publisher: new ForeignKey(() => Publisher, { onDelete: 'setNull', null: true }),
    books: new ReverseForeignKey<Book>(() => Book, 'author'),
  },
  { dbTable: 'author', ordering: ['name'] },
) {
  declare static objects: Manager<Author>;
}

export class Book extends Model.define(
  {
    title: new CharField({ maxLength: 200 }),
    pages: new IntegerField({ default: 100 }),
    published: new DateField({ null: true }),
    author: new ForeignKey(
      ref<Author>(() => Author),
      { onDelete: 'cascade' },
    ),
    tags: new ManyToManyField(() => Tag, { relatedName: 'books' }),
  },
  { dbTable: 'book' },
) {}

export class Tag extends Model.define({ name: new CharField({ maxLength: 50, unique: true }) }, { dbTable: 'tag' }) {}

export declare const book: Book;
export declare const author: Author;
export declare const python: Tag;
export declare const web: Tag;
export declare const webId: number;
export declare const list: Author[];

export declare const id: number;
export declare const ids: number[];
export declare const n: string;
export declare const name: string;
export declare const url: string;
export declare const instanceAlias: string | undefined;
export declare const signal: AbortSignal;
export declare const items: Array<{ id: number }>;
export declare const accounts: Array<{ id: number }>;
export interface Job {
  id: number;
}
export declare const jobs: Job[];
export declare function run(job: Job): Promise<number>;
export declare function notify(id: number): void;
export declare function sendMail(): Promise<void>;
export declare function sendDigest(): Promise<void>;
export declare const log: ((...data: unknown[]) => void) & { debug(data: unknown): void; warn(message: string): void };
export declare function alert(message: string | undefined): void;

export const app = express();
export const fastify = Fastify();
export declare const req: IncomingMessage;
export declare const res: ServerResponse;
export declare function handler(req: IncomingMessage, res: ServerResponse): Promise<void>;

export type Args = { id: number };
export type Result = Author[];
export declare const pool: WorkerPool<unknown, number>;
export declare function chunks(): AsyncIterable<number>;
export declare const resourceLimits: ResourceLimits;
export declare const env: Record<string, string>;
export declare const execArgv: string[];
export declare const argv: string[];
