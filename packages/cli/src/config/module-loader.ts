/**
 * Loads the config, the models and the migrations without a build step, TypeScript included,
 * through jiti (a dependency-free loader that transpiles TypeScript and bridges ES modules and
 * CommonJS). It shares Node's module cache, so `@spool/orm` is one module for the command line
 * and for your models.
 */
import { createJiti } from 'jiti';

type Jiti = ReturnType<typeof createJiti>;
import type { ModuleLoader } from '@spool/orm/migrations';

let jiti: Jiti | undefined;

function instance(): Jiti {
  jiti ??= createJiti(__filename, { moduleCache: true, interopDefault: false });
  return jiti;
}

/** Import a module (TypeScript or JavaScript, ESM or CommonJS) by absolute path. */
export const loadModule: ModuleLoader = (file: string) => instance().import(file);
