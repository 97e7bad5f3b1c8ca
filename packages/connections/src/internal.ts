/**
 * `@spool/connections/internal`: the parts of the connection layer that Spool's other packages
 * (`@spool/testing`) and its test suites use, and applications should not: the state behind a
 * handler, the backends by driver, the message catalogue. No semver promise: it changes with
 * the package.
 */
import type { ConnectionHandler } from './handler';
import type { HandlerState } from './handler-state';

/** The thread state behind `handler`: its pools by alias, the root scope, the scopes' storage. */
export function handlerState(handler: ConnectionHandler): HandlerState {
  return handler.state;
}

export type { AliasPool } from './alias-pool';
export { backendFor } from './backends';
export type { DatabaseConnection } from './connection';
export { recordScopeSites, type HandlerState } from './handler-state';
export { attachToScope, scopeAttachment } from './scopes';
export { messages } from './messages';
export { parseJsonExactly } from './backends/json-integers';
