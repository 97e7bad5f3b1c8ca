/**
 * `captureOnCommitCallbacks()` (Django's `TestCase.captureOnCommitCallbacks`): a test's
 * transaction never commits, so the `onCommit` hooks the code under test registers never run.
 * This collects the ones registered while `fn` runs inside a transaction, and with
 * `execute: true` runs them afterwards, in order (hooks they register are run too).
 */
import { connections as defaultHandler, type ConnectionHandler } from '@spool/connections';

export interface CaptureOnCommitOptions {
  /** Run the captured hooks once `fn` resolved. Default false. */
  execute?: boolean;
  /** Only hooks for this alias. Default `'default'`. */
  using?: string;
  /** The handler. Default: this thread's. */
  handler?: ConnectionHandler;
}

export async function captureOnCommitCallbacks<T>(
  fn: () => T | Promise<T>,
  options: CaptureOnCommitOptions = {},
): Promise<{ result: T; callbacks: Array<() => unknown> }> {
  const handler = options.handler ?? defaultHandler;
  const using = options.using ?? 'default';
  const callbacks: Array<() => unknown> = [];
  const original = handler.onCommit;
  // Observe registrations through the handler (the exported onCommit() calls it); each is still
  // registered as usual, so it is dropped with the test's rollback.
  handler.onCommit = function capture(this: ConnectionHandler, hook, hookOptions = {}) {
    if ((hookOptions.using ?? 'default') === using && handler.inAtomicBlock({ using })) callbacks.push(hook);
    return original.call(this, hook, hookOptions);
  };
  try {
    const result = await fn();
    if (options.execute) for (let i = 0; i < callbacks.length; i++) await (callbacks[i] as () => unknown)();
    return { result, callbacks };
  } finally {
    handler.onCommit = original;
  }
}
