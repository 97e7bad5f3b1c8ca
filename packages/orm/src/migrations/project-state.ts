/**
 * The whole project's models at one point of the migration history (Django's `ProjectState`):
 * the state the migrations produce, or the state of the real models, so that the two can be
 * compared. `apps` renders historical model classes from it.
 */
import type { ModelMeta } from '../models/model-meta';
import type { AppConfig } from './app-config';
import { BadMigrationError } from './errors';
import { ModelState } from './model-state';
import { StateApps } from './state-apps';
import { ConfigError } from '@spool/connections';

export class ProjectState {
  /** Models by `app.Model`. */
  readonly models: Map<string, ModelState>;
  private rendered: StateApps | undefined;

  constructor(models: Iterable<ModelState> = []) {
    this.models = new Map();
    for (const m of models) this.models.set(m.key, m);
  }

  /** The model `app.Model`, or a BadMigrationError naming what exists. */
  model(appLabel: string, name: string): ModelState {
    const m = this.models.get(`${appLabel}.${name}`);
    if (!m) {
      const inApp = [...this.models.values()].filter((x) => x.appLabel === appLabel).map((x) => x.name);
      throw new BadMigrationError(
        `No model '${name}' in app '${appLabel}' at this point of the migrations. Models of '${appLabel}': ${inApp.join(', ') || '(none)'}.`,
      );
    }
    return m;
  }

  hasModel(appLabel: string, name: string): boolean {
    return this.models.has(`${appLabel}.${name}`);
  }

  addModel(model: ModelState): void {
    if (this.models.has(model.key)) throw new BadMigrationError(`Model ${model.key} already exists in the migration state.`);
    this.models.set(model.key, model);
    this.changed();
  }

  removeModel(appLabel: string, name: string): void {
    this.model(appLabel, name);
    this.models.delete(`${appLabel}.${name}`);
    this.changed();
  }

  /** Replace a model (same key or renamed) keeping the order of the others. */
  replaceModel(oldKey: string, model: ModelState): void {
    const entries = [...this.models].map(([k, v]) => (k === oldKey ? ([model.key, model] as const) : ([k, v] as const)));
    this.models.clear();
    for (const [k, v] of entries) this.models.set(k, v);
    this.changed();
  }

  /** Change a model in place (call inside an operation's `stateForwards`). */
  updateModel(appLabel: string, name: string, fn: (model: ModelState) => void): void {
    fn(this.model(appLabel, name));
    this.changed();
  }

  /** Forget the rendered models after a change. */
  changed(): void {
    this.rendered = undefined;
  }

  /** Historical model classes for this state (rendered on first use after a change). */
  get apps(): StateApps {
    this.rendered ??= new StateApps(this.models.values());
    return this.rendered;
  }

  clone(): ProjectState {
    return new ProjectState([...this.models.values()].map((m) => m.clone()));
  }

  /** Models of one app. */
  modelsOf(appLabel: string): ModelState[] {
    return [...this.models.values()].filter((m) => m.appLabel === appLabel);
  }

  /** The state of the real models of `apps`. */
  static async fromApps(apps: readonly AppConfig[]): Promise<ProjectState> {
    const labels = new Map<ModelMeta, string>();
    const perApp: [AppConfig, ModelMeta[]][] = [];
    for (const app of apps) {
      const metas = await app.models();
      for (const meta of metas) {
        const other = labels.get(meta);
        if (other && other !== app.label) {
          throw new ConfigError(`Model ${meta.name} is listed in two apps ('${other}' and '${app.label}'). A model belongs to one app.`);
        }
        labels.set(meta, app.label);
      }
      perApp.push([app, metas]);
    }
    const state = new ProjectState();
    for (const [app, metas] of perApp) {
      for (const meta of metas) {
        const ms = ModelState.fromModel(meta, app.label, (m) => labels.get(m));
        if (state.models.has(ms.key)) throw new ConfigError(`App '${app.label}' has two models named ${meta.name}.`);
        state.models.set(ms.key, ms);
      }
    }
    return state;
  }
}
