/** Exit codes of the `keyward` CLI (also listed by `keyward help`). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  unreachable: 3,
  notSignedIn: 4,
  denied: 5,
  expired: 6,
} as const;

/** An error the CLI reports as one clear line (plus an optional hint) and exits with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  readonly hint?: string;

  constructor(message: string, exitCode: number = ExitCode.failure, hint?: string) {
    super(message);
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

export const usage = (message: string) =>
  new CliError(message, ExitCode.usage, 'Run `keyward help` for usage.');
