// THE NAIVE PATTERN, as found in the wild: each worker builds its own knex pool when the module
// loads, and nothing ever destroys it. Every worker keeps up to `pool.max` (10) connections for
// its whole life; W workers hold W × 10; a worker killed mid-query leaves its statement running.
import { workerData } from 'node:worker_threads';
import knexFactory from 'knex';
import { SLEEP, pause } from './jobs.mjs';

const knex = knexFactory(workerData.knex); // module load: one pool per worker, never destroyed

export default async function job({ seconds }) {
  const [text, bindings] = SLEEP[workerData.db](seconds);
  const one = async () => {
    await knex.raw(text, bindings);
    if (workerData.db === 'sqlite') await pause(seconds * 1000);
  };
  await Promise.all([one(), one(), one()]);
  return true;
}
