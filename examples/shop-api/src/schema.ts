/**
 * The schema: created with the schema editor when the tables are missing (a first run on an
 * empty database). Until the app has migrations, this is how its tables come to be.
 */
import { SchemaEditor } from '@spool/orm';
import { scope } from '@spool/connections';
import { MODELS, Product } from './models';

/** Create the tables unless they exist. Returns whether it created them. */
export function ensureSchema(alias = 'default'): Promise<boolean> {
  return scope(
    async () => {
      try {
        await Product.objects.using(alias).exists();
        return false;
      } catch {
        await new SchemaEditor(alias).createModels(MODELS);
        return true;
      }
    },
    { name: 'ensureSchema' },
  );
}

/** Drop every table of the app (tests). */
export function dropSchema(alias = 'default'): Promise<void> {
  return scope(() => new SchemaEditor(alias).deleteModels(MODELS, { ifExists: true }), { name: 'dropSchema' });
}
