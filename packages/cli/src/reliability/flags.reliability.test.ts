import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../main.ts';

/** Runs the CLI in-process and returns its exit code and what it wrote to stderr. */
async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'oitrader', '--quiet', ...args]);
    process.exitCode = 0;
    return { code, stderr };
  } finally {
    process.stderr.write = write;
  }
}

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'oitrader-flags-')), 'config.yaml');
  writeFileSync(file, text);
  return file;
}

const REFUSED: Array<[string[], RegExp]> = [
  // item 6: backtest flags
  [['backtest', '--leverage', '-5'], /--leverage: expected >= 1, got number -5/],
  [['backtest', '--leverage', '0'], /--leverage: expected >= 1, got number 0/],
  [['backtest', '--leverage', '200'], /--leverage: expected <= 20, got number 200/],
  [['backtest', '--leverage', '21'], /--leverage: expected <= 20, got number 21/],
  [['backtest', '--leverage', 'abc'], /--leverage: expected a number, got "abc"/],
  [['backtest', '--balance', '-100'], /--balance: expected > 0, got number -100/],
  [['backtest', '--taker-fee', '-0.01'], /--taker-fee: expected >= 0, got number -0.01/],
  [['backtest', '--spread-bps', '-500'], /--spread-bps: expected >= 0, got number -500/],
  // item 15: other numeric flags and dates
  [['sim', '--speed', '-1'], /--speed: expected >= 0, got number -1/],
  [['sim', '--symbols', 'SOLUSDT,FOOUSDT', '--for', '1'], /FOOUSDT is not in .*\n.*it holds BTCUSDT, DOGEUSDT, ETHUSDT, SOLUSDT/],
  [['sim', '--symbol', 'SOLUSDT', '--symbols', 'BTCUSDT'], /give --symbol or --symbols, not both/],
  [['collect', '--for', 'abc'], /--for: expected a number, got "abc"/],
  [['data', 'check', '--threshold', 'abc'], /--threshold: expected a number, got "abc"/],
  [['data', 'check', '--threshold', '5'], /--threshold: expected <= 1, got number 5/],
  [['data', 'check', '--threshold', '-1'], /--threshold: expected > 0, got number -1/],
  [['data', 'check', '--start', '2024-03-01', '--end', '2024-01-01'], /--end .* is not after --start/],
  [['data', 'check', '--start', '2024-13-45'], /cannot read "2024-13-45" as a UTC time/],
  [['data', 'check', '--start', '2024-02-30'], /cannot read "2024-02-30" as a UTC time/],
  [['data', 'health', '--max-age', '0'], /--max-age: expected > 0, got number 0/],
  [['features', 'build', '--threshold', '-1'], /--threshold: expected > 0, got number -1/],
  // issue 26: pooled feature builds
  [['features', 'build', '--symbols', 'SOLUSDT'], /--symbols: expected at least two comma-separated symbols, got "SOLUSDT"/],
  [['features', 'build', '--symbols', 'SOLUSDT,solusdt'], /--symbols: SOLUSDT is listed twice/],
  [['features', 'build', '--symbols', 'SOLUSDT,not a symbol'], /--symbols: expected a USDⓈ-M symbol such as SOLUSDT, got "not a symbol"/],
  [['features', 'build', '--symbol', 'SOLUSDT', '--symbols', 'SOLUSDT,BTCUSDT'], /--symbol and --symbols together/],
  [['features', 'build', '--symbol-id'], /--symbol-id needs --symbols/],
  [['train', '--run-id', '../../evil'], /--run-id: expected letters, digits/],
  [['data', 'show', '--symbol', 'not a symbol'], /--symbol: expected a USDⓈ-M symbol such as SOLUSDT, got "not a symbol"/],
];

describe('reliability: every numeric flag goes through the config schema, one line, exit 2 (issue 18 items 6, 15)', () => {
  for (const [args, message] of REFUSED) {
    it(`oitrader ${args.join(' ')} is refused with exit 2 and one line`, async () => {
      const { code, stderr } = await run(['--config', configFile('database:\n  embedded_path: memory\n'), ...args]);
      assert.equal(code, 2, `expected the usage-error exit code 2, got ${code}: ${stderr}`);
      assert.match(stderr, message);
      assert.doesNotMatch(stderr, /unexpected error|\n\s+at /, 'a bad flag must not print a stack trace');
      assert.ok(stderr.split('\n').filter((l) => l.startsWith('error:')).length === 1, `one error line expected:\n${stderr}`);
    });
  }

  it('data show normalises a lower-case symbol instead of finding nothing', async () => {
    const { code, stderr } = await run(['--config', configFile('database:\n  embedded_path: memory\n'), 'data', 'show', '--symbol', 'xrpusdt']);
    assert.doesNotMatch(stderr, /--symbol/, `xrpusdt must be read as XRPUSDT, got: ${stderr}`);
    assert.notEqual(code, 2);
  });
});

describe('reliability: config values (issue 18 items 15, 16)', () => {
  it('a numeric secret in config.yaml is never echoed in the validation error', async () => {
    const { code, stderr } = await run(['--config', configFile('binance:\n  secret: 9876543210123\n  api_key: 55511122233\n'), 'db', 'migrate']);
    assert.equal(code, 2);
    assert.match(stderr, /binance\.secret: expected string, got number \(value hidden: a secret\)/);
    assert.doesNotMatch(stderr, /9876543210123|55511122233/, 'the secret itself was printed');
  });

  it('.nan in YAML says "a finite number, got number NaN", not "number null"', async () => {
    const { code, stderr } = await run(['--config', configFile('trading:\n  initial_balance: .nan\n'), 'db', 'migrate']);
    assert.equal(code, 2);
    assert.match(stderr, /trading\.initial_balance: expected a finite number, got number NaN/);
  });

  it('a start date that is no calendar day (2024-13-45) is refused by the config', async () => {
    const { code, stderr } = await run(['--config', configFile("data:\n  start_date: '2024-13-45'\n"), 'db', 'migrate']);
    assert.equal(code, 2);
    assert.match(stderr, /data\.start_date: expected a calendar date YYYY-MM-DD, got string "2024-13-45"/);
  });
});
