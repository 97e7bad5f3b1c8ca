/**
 * The schema comes from the migrations in src/migrations, written by `npx spool makemigrations`
 * and applied by `npx spool migrate` (`npm run migrate`). At start-up the server asks which are
 * still unapplied on its database, as Django warns about unapplied migrations, and refuses to
 * serve rather than fail on the first request that reaches a missing table.
 */
import { join } from 'node:path';
import { defineApp, MigrationExecutor, MigrationLoader } from '@spool/orm/migrations';
import { MODELS } from './models';

/** The app as spool.config.ts declares it, its migrations compiled beside this file (dist/migrations). */
export const shopApp = defineApp({ label: 'shop', models: MODELS, migrations: join(__dirname, 'migrations') });

/** The migrations not applied yet on `alias` (`shop.0001_initial`, …), in apply order. */
export async function unappliedMigrations(alias = 'default'): Promise<string[]> {
  const loader = await MigrationLoader.load([shopApp]);
  const plan = await new MigrationExecutor(loader, alias).pendingPlan();
  return plan.map((step) => step.migration);
}
