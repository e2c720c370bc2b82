import { SingleBar } from 'cli-progress';

/** How a command talks: human text, quiet, or one JSON document on stdout for scripts. */
export interface Output {
  readonly json: boolean;
  readonly quiet: boolean;
  /** Human-readable text (suppressed by --quiet and --json). */
  text(line: string): void;
  /** The command's machine-readable result (printed only with --json). */
  result(value: unknown): void;
  progress(label: string, total: number): Progress;
}

export interface Progress {
  update(done: number, detail?: string): void;
  stop(): void;
}

export function createOutput(options: { json?: boolean; quiet?: boolean }): Output {
  const json = Boolean(options.json);
  const quiet = Boolean(options.quiet) || json;
  return {
    json,
    quiet,
    text: (line) => {
      if (!quiet) process.stdout.write(`${line}\n`);
    },
    result: (value) => {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    progress: (label, total) => {
      // A bar only on an interactive terminal; logs and CI get nothing.
      if (quiet || !process.stderr.isTTY) return { update() {}, stop() {} };
      const bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {detail}`, stream: process.stderr, hideCursor: true });
      bar.start(total, 0, { detail: '' });
      return { update: (done, detail = '') => bar.update(done, { detail }), stop: () => bar.stop() };
    },
  };
}
