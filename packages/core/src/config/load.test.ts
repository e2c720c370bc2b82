import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { loadConfig, parseConfig } from './load.ts';

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'oitrader-config-')), 'config.yaml');
  writeFileSync(file, text);
  return file;
}

describe('config', () => {
  it('embedded defaults are the guide\'s safe settings: paper mode, 5x, 2% risk, 3% daily loss', () => {
    const config = parseConfig({});
    assert.equal(config.trading.mode, 'paper');
    assert.equal(config.trading.leverage, 5);
    assert.equal(config.trading.risk_per_trade, 0.02);
    assert.equal(config.trading.max_daily_loss, 0.03);
    assert.equal(config.binance.testnet, true);
    assert.deepEqual(config.data.timeframes, ['5m', '15m', '1h', '4h', '1d']);
  });

  it('reports one line per problem with path, expected and got, and exit code 2', () => {
    const file = writeConfig('trading:\n  leverage: "five"\n  risk_per_trade: 0.5\n  mode: yolo\ndata:\n  timeframes: [5m, 7m]\n  symbol: SOLUSDT\n');
    assert.throws(
      () => loadConfig({ file, env: {} }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.exitCode, 2);
        const lines = error.message.split('\n');
        assert.equal(lines.length, 5, error.message);
        assert.match(error.message, /trading\.leverage: expected a finite number, got string "five"/);
        assert.match(error.message, /trading\.risk_per_trade: expected <= 0\.1, got number 0\.5/);
        assert.match(error.message, /trading\.mode: expected one of "paper", "sim", "demo", "live", "testnet", got string "yolo"/);
        assert.match(error.message, /data\.timeframes\.1: expected one of .*got string "7m"/);
        assert.match(error.message, /data\.symbol: expected a known key/);
        return true;
      },
    );
  });

  it('trading.ml_rule: the cost-aware rule by default (0.05 % hurdle, ¼ Kelly, 6-ATR stop, no target, 0.05 % taker, 2 bps slippage); nonsense refused by key', () => {
    const rule = parseConfig({}).trading.ml_rule;
    assert.deepEqual(rule, { rule: 'cost-aware', hurdle: 0.0005, kelly_fraction: 0.25, stop_atr: 6, take_profit_atr: 0, taker_fee: 0.0005, slippage_bps: 2 });
    assert.equal(parseConfig({ trading: { ml_rule: { rule: 'ml-signal' } } }).trading.ml_rule.rule, 'ml-signal', 'the old fixed-threshold rule stays selectable');
    const file = writeConfig('trading:\n  ml_rule:\n    hurdle: -0.001\n    kelly_fraction: 2\n    taker_fee: 0.05\n    rule: greedy\n');
    assert.throws(
      () => loadConfig({ file, env: {} }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const key of ['hurdle', 'kelly_fraction', 'taker_fee', 'rule']) assert.match(error.message, new RegExp(`trading\\.ml_rule\\.${key}:`), `no line for ml_rule.${key}: ${error.message}`);
        return true;
      },
    );
  });

  it('trading.mode testnet is read as demo trading, which replaced the futures testnet', () => {
    assert.equal(parseConfig({ trading: { mode: 'testnet' } }).trading.mode, 'demo', 'an old config saying testnet must trade on demo, not live');
    assert.equal(parseConfig({ trading: { mode: 'demo' } }).trading.mode, 'demo');
  });

  it('reports broken YAML with its line number instead of a stack trace', () => {
    const file = writeConfig('trading:\n  leverage: [1, 2\n');
    assert.throws(() => loadConfig({ file, env: {} }), /expected valid YAML/);
  });

  it('a missing explicit file is an error, not a silent fallback to defaults', () => {
    assert.throws(() => loadConfig({ file: '/nonexistent/config.yaml', env: {} }), /no such file/);
  });

  it('environment variables override secrets and the database url', () => {
    const file = writeConfig('binance:\n  api_key: from-file\n');
    const { config } = loadConfig({
      file,
      env: { BINANCE_API_KEY: 'env-key-1234', BINANCE_SECRET: 'env-secret-5678', TELEGRAM_TOKEN: 'tg-token-999', DATABASE_URL: 'postgres://u:pw12345@h/db' },
    });
    assert.equal(config.binance.api_key, 'env-key-1234');
    assert.equal(config.binance.secret, 'env-secret-5678');
    assert.equal(config.telegram.token, 'tg-token-999');
    assert.equal(config.database.url, 'postgres://u:pw12345@h/db');
  });

  it('secrets loaded from config never reach a log line', () => {
    loadConfig({ file: writeConfig('{}\n'), env: { BINANCE_SECRET: 'super-secret-value', DATABASE_URL: 'postgres://u:hunter2pw@h/db' } });
    const lines: string[] = [];
    const log = createLogger('test', { write: (l) => lines.push(l) });
    log.info('signing with super-secret-value', { url: 'postgres://u:hunter2pw@h/db' });
    assert.ok(!lines[0].includes('super-secret-value'), lines[0]);
    assert.ok(!lines[0].includes('hunter2pw'), lines[0]);
  });

  it('queue: empty redis_url (in-process) by default; REDIS_URL sets it and its password never reaches a log line', () => {
    assert.equal(parseConfig({}).queue.redis_url, '', 'without Redis configured, training must run in-process');
    const { config } = loadConfig({ file: writeConfig('queue:\n  prefix: team-a\n'), env: { REDIS_URL: 'redis://:r3dispass77@10.0.0.5:6379' } });
    assert.equal(config.queue.redis_url, 'redis://:r3dispass77@10.0.0.5:6379');
    assert.equal(config.queue.prefix, 'team-a');
    const lines: string[] = [];
    createLogger('test', { write: (l) => lines.push(l) }).info('worker on redis://:r3dispass77@10.0.0.5:6379');
    assert.ok(!lines[0].includes('r3dispass77'), `the Redis password leaked into a log line: ${lines[0]}`);
    assert.throws(() => parseConfig({ queue: { prefix: 'a:b' } }), /queue\.prefix/, 'a prefix with a colon would break BullMQ keys: must be refused');
  });
});

describe('config.example.yaml', () => {
  it('is valid and equal to the embedded defaults, so the two cannot drift apart', () => {
    const file = new URL('../../../../config.example.yaml', import.meta.url).pathname;
    const { config } = loadConfig({ file, env: {} });
    assert.deepEqual(config, parseConfig({}));
  });
});
