/**
 * A small leveled logger. Human lines go to stderr so stdout stays clean for
 * `--json` output. Secrets registered with `redactSecret` never reach a line.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

const secrets = new Set<string>();

/** Registers a value (API key, token) to be masked in every log line. */
export function redactSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= 4) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  json?: boolean;
  write?: (line: string) => void;
}

export function createLogger(scope: string, options: LoggerOptions = {}): Logger {
  const threshold = LEVEL_ORDER[options.level ?? (process.env.OITRADER_LOG_LEVEL as LogLevel | undefined) ?? 'info'] ?? 20;
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>) => {
    if (LEVEL_ORDER[level] < threshold) return;
    const time = new Date().toISOString();
    const line = options.json
      ? JSON.stringify({ time, level, scope, message, ...fields })
      : `${time} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`;
    write(redact(line));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
