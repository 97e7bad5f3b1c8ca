/**
 * The worker pool for background jobs. The worker file is the built jobs.js (worker threads run
 * plain JavaScript), found from here whether this module runs from src/ (tests) or dist/.
 */
import { join } from 'node:path';
import { WorkerPool } from '@spool/workers';
import type { ConfirmOrderArgs, ConfirmOrderResult } from './jobs';

export function createJobsPool(workers = 2): WorkerPool<ConfirmOrderArgs, ConfirmOrderResult> {
  return new WorkerPool<ConfirmOrderArgs, ConfirmOrderResult>({
    filename: join(__dirname, '..', 'dist', 'jobs.js'),
    workers,
    name: 'shop-jobs',
  });
}
