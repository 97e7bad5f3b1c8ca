/**
 * What `makemigrations` asks when the models alone cannot say (Django's `MigrationQuestioner`):
 * was a model or field renamed, or removed and another added? What value fills existing rows of
 * a new NOT NULL column? Renames are never guessed: an interactive questioner asks, a
 * non-interactive one answers from the renames it was given and otherwise says no (the change is
 * then a removal and an addition, and the questioner notes it).
 */
import { QuestionerError } from './errors';
import type { FieldSpec, StateValue } from './field-spec';

export interface Questioner {
  /** Was `app.oldName` renamed to `newName`? */
  askRenameModel(app: string, oldName: string, newName: string): Promise<boolean>;
  /** Was `app.model.oldName` renamed to `newName`? */
  askRenameField(app: string, model: string, oldName: string, newName: string, spec: FieldSpec): Promise<boolean>;
  /** A one-off value for the existing rows of a new NOT NULL field without a default. */
  askNotNullAddition(app: string, model: string, field: string): Promise<StateValue>;
  /** A one-off value for the existing NULLs of a field becoming NOT NULL (undefined: leave them, the migration may fail). */
  askNotNullAlteration(app: string, model: string, field: string): Promise<StateValue | undefined>;
  /** Things worth telling the user (renames not asked, values assumed). */
  readonly notes: string[];
}

/** Renames given up front: `app.Model.old=new` (fields) and `app.Old=New` (models). */
export interface RenameAnswers {
  fields?: readonly string[];
  models?: readonly string[];
  /** One-off defaults for new NOT NULL fields: `app.Model.field=<JSON value>`. */
  defaults?: readonly string[];
}

/** Answers from flags only; never asks. */
export class NonInteractiveQuestioner implements Questioner {
  readonly notes: string[] = [];
  private readonly fields = new Set<string>();
  private readonly models = new Set<string>();
  private readonly defaults = new Map<string, StateValue>();
  private readonly used = new Set<string>();

  constructor(answers: RenameAnswers = {}) {
    for (const r of answers.fields ?? []) {
      const m = /^(\w+)\.(\w+)\.(\w+)=(\w+)$/.exec(r.trim());
      if (!m) throw new QuestionerError(`--rename-field takes app.Model.old=new, got '${r}'.`);
      this.fields.add(`${m[1]}.${m[2]}.${m[3]}=${m[4]}`);
    }
    for (const r of answers.models ?? []) {
      const m = /^(\w+)\.(\w+)=(\w+)$/.exec(r.trim());
      if (!m) throw new QuestionerError(`--rename-model takes app.Old=New, got '${r}'.`);
      this.models.add(`${m[1]}.${m[2]}=${m[3]}`);
    }
    for (const d of answers.defaults ?? []) {
      const m = /^(\w+)\.(\w+)\.(\w+)=(.*)$/.exec(d.trim());
      if (!m) throw new QuestionerError(`--default takes app.Model.field=<JSON value>, got '${d}'.`);
      try {
        this.defaults.set(`${m[1]}.${m[2]}.${m[3]}`, JSON.parse(m[4] as string) as StateValue);
      } catch {
        throw new QuestionerError(`--default ${m[1]}.${m[2]}.${m[3]}: '${m[4]}' is not a JSON value (quote strings: '"text"').`);
      }
    }
  }

  async askRenameModel(app: string, oldName: string, newName: string): Promise<boolean> {
    const key = `${app}.${oldName}=${newName}`;
    if (this.models.has(key)) {
      this.used.add(`model:${key}`);
      return true;
    }
    this.notes.push(
      `${app}.${oldName} was removed and ${app}.${newName} added (pass --rename-model ${app}.${oldName}=${newName} if it is a rename).`,
    );
    return false;
  }

  async askRenameField(app: string, model: string, oldName: string, newName: string): Promise<boolean> {
    const key = `${app}.${model}.${oldName}=${newName}`;
    if (this.fields.has(key)) {
      this.used.add(`field:${key}`);
      return true;
    }
    this.notes.push(`${app}.${model}.${oldName} was removed and ${newName} added (pass --rename-field ${key} if it is a rename).`);
    return false;
  }

  async askNotNullAddition(app: string, model: string, field: string): Promise<StateValue> {
    const key = `${app}.${model}.${field}`;
    if (this.defaults.has(key)) return this.defaults.get(key) as StateValue;
    throw new QuestionerError(
      `It is impossible to add the non-nullable field '${field}' to ${model} without a default: the existing rows need a value. Give the field a default, make it null: true, or pass --default ${key}=<JSON value> (or run makemigrations in a terminal to be asked).`,
    );
  }

  async askNotNullAlteration(app: string, model: string, field: string): Promise<StateValue | undefined> {
    const key = `${app}.${model}.${field}`;
    if (this.defaults.has(key)) return this.defaults.get(key) as StateValue;
    this.notes.push(
      `${key} becomes NOT NULL without a default: existing NULLs will make the migration fail (pass --default ${key}=<JSON value> to fill them).`,
    );
    return undefined;
  }

  /** Renames given that matched nothing (probably a typo). */
  unusedRenames(): string[] {
    return [
      ...[...this.models].filter((m) => !this.used.has(`model:${m}`)),
      ...[...this.fields].filter((f) => !this.used.has(`field:${f}`)),
    ];
  }
}
