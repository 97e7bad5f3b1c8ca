/**
 * Asks `makemigrations`' questions on the terminal (Django's `InteractiveMigrationQuestioner`).
 * Renames given by flag are answered without asking.
 */
import { createInterface } from 'node:readline/promises';
import {
  NonInteractiveQuestioner,
  QuestionerError,
  type FieldSpec,
  type Questioner,
  type RenameAnswers,
  type StateValue,
} from '@spool/orm/migrations';

export class InteractiveQuestioner implements Questioner {
  readonly notes: string[] = [];
  private readonly flags: NonInteractiveQuestioner;

  constructor(
    answers: RenameAnswers,
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stdout,
  ) {
    this.flags = new NonInteractiveQuestioner(answers);
  }

  private async ask(question: string): Promise<string> {
    const rl = createInterface({ input: this.input, output: this.output, terminal: false });
    try {
      return (await rl.question(question)).trim();
    } finally {
      rl.close();
    }
  }

  private async yesNo(question: string): Promise<boolean> {
    for (;;) {
      const a = (await this.ask(`${question} [y/N] `)).toLowerCase();
      if (a === '' || a === 'n' || a === 'no') return false;
      if (a === 'y' || a === 'yes') return true;
      this.output.write(`Please answer y or n.\n`);
    }
  }

  private async value(question: string): Promise<StateValue> {
    for (;;) {
      const a = await this.ask(`${question}\nA JSON value (e.g. 0, "text", true, null), or 'exit' to stop: `);
      if (a === 'exit' || a === 'quit') throw new QuestionerError('Stopped: no default given.');
      try {
        return JSON.parse(a) as StateValue;
      } catch {
        this.output.write(`'${a}' is not a JSON value (quote text: "text").\n`);
      }
    }
  }

  async askRenameModel(app: string, oldName: string, newName: string): Promise<boolean> {
    const flagged = await this.flags.askRenameModel(app, oldName, newName);
    if (flagged) return true;
    this.flags.notes.length = 0;
    return this.yesNo(`Was the model ${app}.${oldName} renamed to ${newName}?`);
  }

  async askRenameField(app: string, model: string, oldName: string, newName: string, spec: FieldSpec): Promise<boolean> {
    const flagged = await this.flags.askRenameField(app, model, oldName, newName);
    if (flagged) return true;
    this.flags.notes.length = 0;
    return this.yesNo(`Was ${model}.${oldName} renamed to ${model}.${newName} (a ${spec.type})?`);
  }

  async askNotNullAddition(app: string, model: string, field: string): Promise<StateValue> {
    try {
      return await this.flags.askNotNullAddition(app, model, field);
    } catch {
      return this.value(`The non-nullable field '${field}' is added to ${model} without a default; the existing rows need a value.`);
    }
  }

  async askNotNullAlteration(app: string, model: string, field: string): Promise<StateValue | undefined> {
    const flagged = await this.flags.askNotNullAlteration(app, model, field);
    this.flags.notes.length = 0;
    if (flagged !== undefined) return flagged;
    const keep = await this.yesNo(`${model}.${field} becomes NOT NULL without a default. Give a value for the existing NULLs now?`);
    return keep ? this.value(`The value for the existing NULLs of ${model}.${field}:`) : undefined;
  }

  unusedRenames(): string[] {
    return this.flags.unusedRenames();
  }
}
