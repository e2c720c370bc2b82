import { existsSync, readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.ts';
import { redactSecret } from '../log.ts';
import { configSchema, type Config } from './schema.ts';

export const DEFAULT_CONFIG_FILE = 'config.yaml';

/** Environment variables that override secrets and connection settings. */
const ENV_OVERRIDES: ReadonlyArray<[string, (config: Config, value: string) => void]> = [
  ['DATABASE_URL', (c, v) => (c.database.url = v)],
  ['REDIS_URL', (c, v) => (c.queue.redis_url = v)],
  ['BINANCE_API_KEY', (c, v) => (c.binance.api_key = v)],
  ['BINANCE_SECRET', (c, v) => (c.binance.secret = v)],
  ['TELEGRAM_TOKEN', (c, v) => (c.telegram.token = v)],
  ['TELEGRAM_CHAT_ID', (c, v) => (c.telegram.chat_id = v)],
];

/** The environment variable names that override the config file (the Docker compose file passes exactly these). */
export const ENV_OVERRIDE_NAMES: readonly string[] = ENV_OVERRIDES.map(([name]) => name);

export interface LoadConfigOptions {
  /** Explicit file; when absent, `OITRADER_CONFIG` then `./config.yaml`, else embedded defaults. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  config: Config;
  /** The file read, or undefined when the embedded defaults were used. */
  file: string | undefined;
}

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const explicit = options.file ?? env.OITRADER_CONFIG;
  const file = explicit ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  let raw: unknown = {};
  let lineOf: (path: string) => number | undefined = () => undefined;
  if (file !== undefined) {
    if (!existsSync(file)) {
      throw new ConfigError(file, [{ path: '(file)', expected: 'an existing YAML file', got: 'no such file' }]);
    }
    ({ raw, lineOf } = parseYaml(file, readFileSync(file, 'utf8')));
  }
  let config: Config;
  try {
    config = parseConfig(raw, file ?? '(defaults)');
  } catch (error) {
    // Each problem names the line it is on: `config.yaml:12: trading.leverage: expected <= 20, got number 50`.
    if (error instanceof ConfigError && file !== undefined) throw new ConfigError(file, error.problems.map((p) => ({ ...p, line: lineOf(p.path) })));
    throw error;
  }
  for (const [name, apply] of ENV_OVERRIDES) {
    const value = env[name];
    if (value !== undefined && value !== '') apply(config, value);
  }
  redactSecret(config.binance.api_key);
  redactSecret(config.binance.secret);
  redactSecret(config.telegram.token);
  redactSecret(passwordOf(config.database.url));
  redactSecret(passwordOf(config.queue.redis_url));
  return { config, file };
}

export function parseConfig(raw: unknown, fileLabel = 'config'): Config {
  const result = configSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!result.success) throw new ConfigError(fileLabel, result.error.issues.map((issue) => toProblem(issue)));
  return result.data;
}

function parseYaml(file: string, text: string): { raw: unknown; lineOf: (path: string) => number | undefined } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, lineCounter });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: `(line ${e.linePos?.[0].line ?? '?'})`, expected: 'valid YAML', got: e.message.split('\n')[0] })),
    );
  }
  return { raw: doc.toJS(), lineOf: (path) => lineOfPath(doc, lineCounter, path) };
}

/** The line of a dotted config path's value, or of its nearest parent present in the file (a missing key). */
function lineOfPath(doc: Document, lines: LineCounter, path: string): number | undefined {
  const keys = path.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k));
  for (let n = keys.length; n > 0; n--) {
    const node = doc.getIn(keys.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Config paths whose values are secrets: a validation error says what type was there, never the value. */
const SECRET_PATHS = new Set(['binance.api_key', 'binance.secret', 'telegram.token', 'telegram.chat_id', 'database.url', 'queue.redis_url']);

export function toProblem(issue: z.core.$ZodIssue, pathLabel?: string): ConfigProblem {
  const path = pathLabel ?? (issue.path.length > 0 ? issue.path.join('.') : '(root)');
  const input = (issue as { input?: unknown }).input;
  const got = SECRET_PATHS.has(path) ? `${input === null ? 'null' : typeof input} (value hidden: a secret)` : describeValue(input);
  switch (issue.code) {
    case 'invalid_type':
      return { path, expected: issue.expected === 'number' ? 'a finite number' : issue.expected, got };
    case 'unrecognized_keys':
      return { path: [...issue.path, ...issue.keys].join('.'), expected: 'a known key (typo?)', got: 'an unknown key' };
    case 'invalid_value':
      return { path, expected: `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`, got };
    case 'too_small':
      return { path, expected: `${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}`, got };
    case 'too_big':
      return { path, expected: `${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : ''}`, got };
    default:
      return { path, expected: issue.message, got };
  }
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  // JSON.stringify(NaN) is "null": YAML's .nan would read as "got number null".
  if (typeof value === 'number' && !Number.isFinite(value)) return `number ${String(value)}`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function passwordOf(url: string): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}
