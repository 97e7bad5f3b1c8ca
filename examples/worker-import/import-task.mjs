// The worker file: one task imports one chunk of rows. No configure() here: the pool passes the
// main thread's settings on. Each task runs in its own scope (one connection, released at the
// end) and, with { atomic: true }, in one transaction: a chunk is imported whole or not at all.
import { sql } from '@spool/connections';
import { task } from '@spool/workers';

export default task(
  async ({ rows }) => {
    const values = sql.join(rows.map((r) => sql`(${r.id}, ${r.name}, ${r.email}, ${r.amount}, ${r.createdAt})`));
    await sql`INSERT INTO import_row (id, name, email, amount, created_at) VALUES ${values}`;
    return rows.length;
  },
  { atomic: true },
);
