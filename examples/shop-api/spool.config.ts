/**
 * The `spool` command line's config (`npx spool migrate`, `npx spool makemigrations`): the
 * database from `DATABASE_URL` as the app uses it (SQLite's ./shop.db by default), and one app,
 * `shop`, whose migrations live in src/migrations (compiled with the app, so that the server can
 * check at start-up that none is left unapplied).
 */
import { defineApp, defineConfig } from '@spool/cli';
import { MODELS } from './src/models';
import { databaseFromUrl } from './src/settings';

export default defineConfig({
  databases: { default: databaseFromUrl() },
  apps: [defineApp({ label: 'shop', models: MODELS, migrations: 'src/migrations' })],
});
