// What one job does, on each database: three queries at once (as real code does with
// Promise.all), each holding the database a moment; a 'stuck' job holds it for 8 s.
export const SLEEP = {
  postgres: (s) => ['SELECT pg_sleep(?)', [s]],
  mysql: (s) => ['SELECT SLEEP(?)', [s]],
  // SQLite has no sleep: the job waits in JavaScript while it holds the database.
  sqlite: () => ['SELECT 1', []],
};

export const pause = (ms) => new Promise((r) => setTimeout(r, ms));
