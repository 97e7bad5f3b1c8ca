// THE SAME JOB WITH SPOOL: no pool and no configure() here. Each call runs in its own scope; its
// queries share the scope's one connection (one after another), released when the job ends.
import { workerData } from 'node:worker_threads';
import { builder } from '@spool/connections';
import { task } from '@spool/workers';
import { SLEEP, pause } from './jobs.mjs';

export default task(async ({ seconds }) => {
  const [text, bindings] = SLEEP[workerData.db](seconds);
  const knex = builder(); // a knex bound to this task's connection
  const one = async () => {
    await knex.raw(text, bindings);
    if (workerData.db === 'sqlite') await pause(seconds * 1000);
  };
  await Promise.all([one(), one(), one()]);
  return true;
});
