/**
 * `@spool/connections/internal`: the parts of the connection layer that Spool's other packages
 * (`@spool/testing`) and its test suites use, and users should not. No semver promise: it changes
 * with the package.
 */
export { backendFor } from './backends';
