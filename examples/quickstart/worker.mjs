// A worker thread: its database settings arrive from the parent (prepareWorker), so there is no
// configure() here. Each scope leases its own connection and releases it at its end.
import { parentPort, workerData } from 'node:worker_threads';
import { scope, sql } from '@spool/connections';

const names = await scope(async () => {
  const rows = await sql`SELECT name FROM author ORDER BY name`;
  parentPort.postMessage('inside a scope');
  await new Promise((resolve) => parentPort.once('message', resolve)); // the parent shows the stats
  return rows.map((r) => r.name);
});
parentPort.postMessage({ n: workerData.n, names });
parentPort.close();
