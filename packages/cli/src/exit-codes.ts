/**
 * The exit codes of `spool`, which scripts and CI can rely on.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | an error: bad config, a database error, a failed migration, `check` found problems |
 * | 2 | usage: unknown command or option, missing or bad argument |
 * | 3 | `makemigrations --check`: model changes without a migration; `migrate --check`: unapplied migrations |
 */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  PENDING: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
