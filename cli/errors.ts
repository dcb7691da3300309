/**
 * Exit codes of the `otwatch` command (DESIGN.md): 0 success, 1 findings at or above
 * `--fail-on`, 2 usage or input error (one clear line on stderr).
 */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

/** A usage or input error: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
