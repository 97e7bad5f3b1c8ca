/**
 * The protocol between a `WorkerPool` and its workers' entry (`worker-entry.ts`):
 *
 * - the pool sends each task as a `TaskEnvelope` (the user's arguments plus the task's name and id);
 * - the entry answers with the task's value as is (so `Piscina.move()` results still transfer),
 *   or, when the task threw, with a `TaskFailure` carrying the error in a form that survives the
 *   structured clone (which would drop an error's class, `code` and other fields).
 *
 * @internal
 */
import {
  ConfigError,
  DataError,
  DatabaseError,
  IntegrityError,
  InterfaceError,
  InternalError,
  NoScopeError,
  NotSupportedError,
  OperationalError,
  PoolExhaustedError,
  ProgrammingError,
  ScopeEndedError,
  SpoolError,
  TransactionManagementError,
} from '@spool/connections';
import { PoolClosedError, TaskAbortedError, TaskTimeoutError, TaskTransferError, WorkerExitedError, WorkerPoolError } from './errors';

export const ENVELOPE = 'spool.task';
export const FAILURE = '@@spool/task-failure';

/** What the pool posts for one task. */
export interface TaskEnvelope {
  readonly kind: typeof ENVELOPE;
  readonly id: number;
  readonly name: string | undefined;
  /** The export of the worker file to run. */
  readonly handler: string;
  readonly args: unknown;
}

/** What the entry returns when the task threw. */
export interface TaskFailure {
  readonly [FAILURE]: 1;
  readonly error: SerializedError;
}

/** An error (or any thrown value) in a form that survives the structured clone. */
export type SerializedError =
  | {
      readonly type: 'error';
      readonly name: string;
      readonly message: string;
      readonly stack: string | undefined;
      /** Spool's brand (`Symbol.for('spool.error.kinds')`): the class and its ancestors. */
      readonly kinds: readonly string[] | undefined;
      /** Own enumerable fields that could be cloned (`code`, `alias`, `sqlState`…). */
      readonly props: Record<string, unknown>;
      readonly cause: SerializedError | undefined;
      readonly hasCause: boolean;
    }
  | { readonly type: 'value'; readonly value: unknown };

const KINDS = Symbol.for('spool.error.kinds');
const MAX_DEPTH = 4;

export function isEnvelope(value: unknown): value is TaskEnvelope {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === ENVELOPE;
}

export function isFailure(value: unknown): value is TaskFailure {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[FAILURE] === 1;
}

export function failure(error: unknown): TaskFailure {
  return { [FAILURE]: 1, error: serializeError(error) };
}

/** Serialize what a task threw. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error) && !looksLikeError(error)) {
    return { type: 'value', value: cloneable(error) ? error : String(error) };
  }
  const e = error as Error & Record<string | symbol, unknown>;
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(e)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
    const v = e[key];
    if (cloneable(v)) props[key] = v;
  }
  const kinds = Array.isArray(e[KINDS]) ? [...(e[KINDS] as string[])] : undefined;
  const hasCause = 'cause' in e && e.cause !== undefined;
  return {
    type: 'error',
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(e.message),
    stack: typeof e.stack === 'string' ? e.stack : undefined,
    kinds,
    props,
    cause: hasCause && depth < MAX_DEPTH ? serializeError(e.cause, depth + 1) : undefined,
    hasCause,
  };
}

/** Classes an error can be rebuilt as, by name (the most derived known one is used). */
const CLASSES: Record<string, { prototype: object }> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
  AggregateError,
  SpoolError,
  ConfigError,
  NoScopeError,
  ScopeEndedError,
  InterfaceError,
  DatabaseError,
  DataError,
  OperationalError,
  IntegrityError,
  InternalError,
  ProgrammingError,
  NotSupportedError,
  TransactionManagementError,
  PoolExhaustedError,
  WorkerPoolError,
  TaskTimeoutError,
  TaskAbortedError,
  WorkerExitedError,
  TaskTransferError,
  PoolClosedError,
};

/** Rebuild a serialized error in this thread: its class when known, name, message, stack, fields, cause. */
export function reviveError(s: SerializedError): unknown {
  if (s.type === 'value') return s.value;
  const names = s.kinds && s.kinds.length > 0 ? s.kinds : [s.name];
  let proto: object = Error.prototype;
  for (const n of names) {
    const cls = Object.hasOwn(CLASSES, n) ? CLASSES[n] : undefined;
    if (cls) {
      proto = cls.prototype;
      break;
    }
  }
  const err = Object.create(proto) as Error & Record<string | symbol, unknown>;
  Object.defineProperty(err, 'message', { value: s.message, writable: true, configurable: true, enumerable: false });
  if (s.stack !== undefined) Object.defineProperty(err, 'stack', { value: s.stack, writable: true, configurable: true, enumerable: false });
  if ((proto as { name?: unknown }).name !== s.name) {
    Object.defineProperty(err, 'name', { value: s.name, writable: true, configurable: true, enumerable: false });
  }
  if (s.kinds) Object.defineProperty(err, KINDS, { value: s.kinds, enumerable: false });
  for (const [k, v] of Object.entries(s.props)) err[k] = v;
  if (s.hasCause) {
    Object.defineProperty(err, 'cause', {
      value: s.cause ? reviveError(s.cause) : undefined,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  return err;
}

function looksLikeError(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { message?: unknown }).message === 'string' &&
    typeof (v as { stack?: unknown }).stack === 'string'
  );
}

function cloneable(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint') return true;
  if (t === 'function' || t === 'symbol') return false;
  try {
    structuredClone(v);
    return true;
  } catch {
    return false;
  }
}
