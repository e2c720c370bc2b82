import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { loadStrategySource, runPortfolioBacktest } from '@oitrader/backtest';
import { DEFAULT_RISK_LIMITS } from '@oitrader/trading';
import { realOpenInterestFrame } from '../../backtest/src/testing/real-sample.ts';
import { main } from './main.ts';

/** Strategy files import @oitrader/trading: they must live inside the project (its node_modules), as ./strategies does. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function cli(args: string[]): Promise<{ status: number; out: string }> {
  const chunks: string[] = [];
  const { stdout, stderr } = process;
  const [out, err] = [stdout.write.bind(stdout), stderr.write.bind(stderr)];
  const capture = (chunk: string | Uint8Array) => (chunks.push(String(chunk)), true);
  stdout.write = capture as typeof stdout.write;
  stderr.write = capture as typeof stderr.write;
  try {
    const status = await main(['node', 'oitrader', ...args]);
    return { status, out: chunks.join('') };
  } finally {
    stdout.write = out;
    stderr.write = err;
    process.exitCode = undefined;
  }
}

describe('your own strategy in one file: oitrader new-strategy, then backtest / paper / bot run load it', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(ROOT, '.tmp-strategies-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('new-strategy writes a typed, commented strategy that loads and trades real SOLUSDT and BTCUSDT through the risk engine', async () => {
    const made = await cli(['new-strategy', 'oi-break', '--dir', dir]);
    assert.equal(made.status, 0, made.out);
    const file = join(dir, 'oi-break.ts');
    const text = readFileSync(file, 'utf8');
    assert.match(text, /export function createStrategy/);
    assert.ok(!text.includes('__NAME__'), 'the template placeholder must be replaced by the name');
    const source = await loadStrategySource(`./${relative(process.cwd(), file)}`);
    assert.equal(source.name, 'oi-break');
    const frames = [realOpenInterestFrame('SOLUSDT', 60), realOpenInterestFrame('BTCUSDT', 60)];
    const result = runPortfolioBacktest(frames, (symbol) => source.create(symbol), { leverage: 5, initialBalanceUsd: 2000, risk: { limits: DEFAULT_RISK_LIMITS, stopLoss: 0.01 } });
    assert.equal(result.portfolio.strategy, 'oi-break');
    assert.ok(result.portfolio.trades.length > 0, 'the example (open-interest breakout) should trade in 60 real days of SOLUSDT and BTCUSDT');
    assert.ok(result.portfolio.fills.every((f) => f.qtyBase > 0));
  });

  it('refuses a bad name and an existing file (unless --force), with exit 2 and the fix', async () => {
    const bad = await cli(['new-strategy', 'My Strategy', '--dir', dir]);
    assert.equal(bad.status, 2);
    assert.match(bad.out, /lowercase letters, digits and dashes/);
    await cli(['new-strategy', 'twice', '--dir', dir]);
    const again = await cli(['new-strategy', 'twice', '--dir', dir]);
    assert.equal(again.status, 2);
    assert.match(again.out, /exists[\s\S]*--force/);
    assert.equal((await cli(['new-strategy', 'twice', '--dir', dir, '--force'])).status, 0);
  });

  it('a broken strategy file is refused on load with the file and what is wrong; a throw or a bad return inside onBar names the symbol and the bar', async () => {
    const write = (name: string, body: string) => {
      writeFileSync(join(dir, name), body);
      return `./${relative(process.cwd(), join(dir, name))}`;
    };
    await assert.rejects(loadStrategySource(join(dir, 'missing.ts')), /does not exist[\s\S]*/);
    await assert.rejects(loadStrategySource(write('no-default.ts', 'export const x = 1;\n')), /exports no createStrategy function/);
    await assert.rejects(loadStrategySource(write('syntax.ts', 'export function createStrategy( {\n')), /failed to load/);
    await assert.rejects(loadStrategySource(write('throws.ts', "export function createStrategy() { throw new Error('no config'); }\n")), /factory threw for BTCUSDT: no config/);
    await assert.rejects(loadStrategySource(write('no-onbar.ts', "export function createStrategy() { return { name: 'x' }; }\n")), /no an onBar\(context\) function/);
    const throwing = await loadStrategySource(write('bar-throws.ts', "export function createStrategy() { return { name: 'boom', onBar: (ctx) => { if (ctx.index === 5) throw new Error('bad math'); return []; } }; }\n"));
    const frame = realOpenInterestFrame('SOLUSDT', 2);
    assert.throws(() => runPortfolioBacktest([frame], (s) => throwing.create(s), { leverage: 5 }), (e: Error) => /boom .*bar-throws\.ts\) threw on SOLUSDT at 2025-12-01T00:25:00\.000Z: bad math/.test(e.message));
    const garbage = await loadStrategySource(write('garbage.ts', "export function createStrategy() { return { name: 'junk', onBar: () => ['buy'] }; }\n"));
    assert.throws(() => runPortfolioBacktest([frame], (s) => garbage.create(s), { leverage: 5 }), /junk .*returned \["buy"\] on SOLUSDT/);
  });

  it('backtest --strategy <file> on the command line: a missing file is a usage error that says how to make one', async () => {
    const r = await cli(['backtest', '--strategy', './strategies/nope.ts']);
    assert.equal(r.status, 2);
    assert.match(r.out, /strategy file \.\/strategies\/nope\.ts does not exist[\s\S]*oitrader new-strategy/);
  });
});
