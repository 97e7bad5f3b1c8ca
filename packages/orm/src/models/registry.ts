/**
 * Every model defined in this thread (Django's app registry, without apps). Reverse relations
 * are found by scanning it, so a model's reverse accessors exist once the model that declares
 * the foreign key has been loaded. Internal to the package (not exported from its index).
 */
import type { ModelMeta } from './model-meta';

const models: ModelMeta[] = [];
let version = 0;

export function register(meta: ModelMeta): void {
  models.push(meta);
  version += 1;
}

export function allModels(): readonly ModelMeta[] {
  return models;
}

/** Changes whenever a model is registered: caches of reverse relations compare it. */
export function registryVersion(): number {
  return version;
}
