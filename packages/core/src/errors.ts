/**
 * Errors that carry the fix. Every error a user can cause names what is wrong
 * and how to fix it; the CLI prints `message` and `hint`, never a bare stack.
 */
export class OitraderError extends Error {
  readonly hint: string | undefined;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

export interface ConfigProblem {
  /** Dotted path inside the config file, e.g. `trading.leverage`. */
  path: string;
  expected: string;
  got: string;
  /** The file's line the problem is on, when the value came from a file. */
  line?: number;
}

export class ConfigError extends OitraderError {
  readonly problems: ConfigProblem[];

  constructor(file: string, problems: ConfigProblem[]) {
    const lines = problems.map((p) => `${file}${p.line === undefined ? '' : `:${p.line}`}: ${p.path}: expected ${p.expected}, got ${p.got}`);
    super(lines.join('\n'), { hint: 'fix the lines above (see config.example.yaml)', exitCode: 2 });
    this.problems = problems;
  }
}

/** Bad input data: a file, a row, an exchange payload. */
export class DataError extends OitraderError {}

/** A value read before its warm-up completed (see STYLE.md: `...OrThrow`). */
export class NotReadyError extends OitraderError {}
