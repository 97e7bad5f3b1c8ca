/**
 * What a command prints: human lines (coloured only on a terminal, never with `NO_COLOR`, always
 * with `FORCE_COLOR`), or one JSON document with `--json` for machines. Errors and warnings go to
 * stderr; results to stdout.
 */
import type { Writable } from 'node:stream';

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;
export type Style = keyof typeof CODES;

export interface OutputOptions {
  json?: boolean;
  /** false: never colour (`--no-color`). */
  color?: boolean;
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
}

export class Output {
  readonly json: boolean;
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  private readonly colour: boolean;
  private readonly colourErr: boolean;

  constructor(options: OutputOptions = {}) {
    this.json = options.json ?? false;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    const env = options.env ?? process.env;
    const forced = env.FORCE_COLOR !== undefined && !['', '0', 'false'].includes(env.FORCE_COLOR);
    const allowed = options.color !== false && (env.NO_COLOR === undefined || env.NO_COLOR === '');
    this.colour = allowed && (forced || this.stdout.isTTY === true);
    this.colourErr = allowed && (forced || this.stderr.isTTY === true);
  }

  /** Is stdout a terminal (progress written in place)? */
  get interactive(): boolean {
    return this.stdout.isTTY === true && !this.json;
  }

  style(text: string, ...styles: Style[]): string {
    return this.paint(this.colour, text, styles);
  }

  private paint(on: boolean, text: string, styles: Style[]): string {
    if (!on) return text;
    return styles.reduce((t, s) => `\u001b[${CODES[s][0]}m${t}\u001b[${CODES[s][1]}m`, text);
  }

  /** A human line on stdout (nothing in JSON mode). */
  line(text = ''): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** Text without a newline on stdout (progress). */
  write(text: string): void {
    if (!this.json) this.stdout.write(text);
  }

  /** A warning on stderr (also in JSON mode: stdout stays one document). */
  warn(text: string): void {
    this.stderr.write(`${this.paint(this.colourErr, 'warning:', ['yellow', 'bold'])} ${text}\n`);
  }

  /** An error on stderr; in JSON mode a JSON document on stdout too. */
  error(err: { name?: string; message: string; code?: string }): void {
    if (this.json) this.result({ ok: false, error: { kind: err.name ?? 'Error', code: err.code, message: err.message } });
    this.stderr.write(`${this.paint(this.colourErr, 'error:', ['red', 'bold'])} ${err.message}\n`);
  }

  /** The command's result: printed as JSON with --json. */
  result(value: unknown): void {
    if (this.json) this.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
  }
}
