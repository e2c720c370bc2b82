import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DirectorySource } from '@oitrader/binance';
import { importArchive, openStore } from '@oitrader/data';
import { BotStore, type CrashPoint } from '@oitrader/live';
import { SAMPLE_ARCHIVE } from './commands/demo.ts';
import { main } from './main.ts';

const BIN = fileURLToPath(new URL('../bin/oitrader.mjs', import.meta.url));
const SESSION_START = '2025-12-01';
const SECRET_KEY = 'k3yDoNotPrint9f8e7d6c5b4a';
const SECRET = 's3cretDoNotPrint1a2b3c4d5e';

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/**
 * The SIGKILL recovery contract, through the real CLI in child processes on
 * an embedded database on disk: the bot is killed at each step of a candle's
 * order lifecycle, restarted, and must end with exactly the trades of a bot
 * that was never killed — no duplicate order, no position without its stop,
 * its record equal to the venue's. Two symbols share the wallet, as a
 * portfolio bot runs. (The exchange venue: bot-sim.test.ts.)
 */
describe('oitrader bot: kill -9 at every step, restart, same trades', () => {
  let dir: string;
  const config = (bot: string, extra = '') => {
    const file = join(dir, `${bot}.yaml`);
    // dashboard.port 0: every bot run serves its dashboard on a free port, never one a parallel run holds;
    // collector external: a bot run that is not a replay must not start collecting from Binance in a test.
    writeFileSync(file, `database:\n  embedded_path: ${join(dir, 'db')}\nbot:\n  name: ${bot}\n  kill_file: ${join(dir, `${bot}.KILL`)}\n  collector: external\ndashboard:\n  port: 0\ntrading:\n  symbols: [SOLUSDT, BTCUSDT]\n${extra}`);
    return file;
  };
  const run = (bot: string, args: string[], env: Record<string, string> = {}, extra = ''): Run => {
    const r = spawnSync(process.execPath, [BIN, '--config', config(bot, extra), ...args], {
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: '', BINANCE_API_KEY: SECRET_KEY, BINANCE_SECRET: SECRET, ...env },
    });
    return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
  };
  /** The CLI in this process (no child start-up), its stdout and stderr captured. */
  const runHere = async (bot: string, args: string[], extra = ''): Promise<Run> => {
    // The test runner reports the previous test on this process's stdout a moment after it ends: let that out first, or the capture swallows it.
    await new Promise((r) => setTimeout(r, 100));
    const chunks: string[] = [];
    const { stdout, stderr } = process;
    const [out, err] = [stdout.write.bind(stdout), stderr.write.bind(stderr)];
    const capture = (chunk: string | Uint8Array) => (chunks.push(String(chunk)), true);
    Object.assign(process.env, { BINANCE_API_KEY: SECRET_KEY, BINANCE_SECRET: SECRET });
    stdout.write = capture as typeof stdout.write;
    stderr.write = capture as typeof stderr.write;
    try {
      const status = await main(['node', 'oitrader', '--config', config(bot, extra), ...args]);
      return { status, signal: null, out: chunks.join('') };
    } finally {
      stdout.write = out;
      stderr.write = err;
      process.exitCode = undefined;
    }
  };
  const withBotStore = async <T>(work: (store: BotStore) => Promise<T>): Promise<T> => {
    const { sql } = await openStore({ embeddedPath: join(dir, 'db') });
    try {
      return await work(new BotStore(sql));
    } finally {
      await sql.close();
    }
  };
  const fillKeys = (bot: string) => withBotStore(async (s) => (await s.fills(bot)).map((f) => `${f.timeMs} ${f.symbol} ${f.side} ${f.qtyBase} ${f.priceUsd} ${f.reason}`));
  let reference: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oitrader-bot-'));
    const { sql } = await openStore({ embeddedPath: join(dir, 'db') });
    await importArchive(sql, new DirectorySource(SAMPLE_ARCHIVE), { symbols: ['SOLUSDT', 'BTCUSDT'], timeframes: ['5m'], datasets: ['klines', 'fundingRate'], startMs: Date.UTC(2025, 11, 1), endMs: Date.UTC(2025, 11, 31) });
    // A day and a half of real candles keeps each child run short.
    await sql.query("DELETE FROM ohlcv WHERE time >= '2025-12-02T12:00:00Z'");
    await sql.close();
    const straight = run('ref', ['bot', 'run', '--replay', '--from', SESSION_START]);
    assert.equal(straight.status, 0, straight.out);
    reference = await fillKeys('ref');
    assert.ok(reference.length >= 6, `the reference run should trade on a day and a half of real candles, made ${reference.length} fills`);
    assert.deepEqual(new Set(reference.map((k) => k.split(' ')[1])), new Set(['SOLUSDT', 'BTCUSDT']), 'the reference run should trade both symbols on its one wallet');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const points: Array<[CrashPoint, number]> = [
    ['after-fill', 3],
    ['after-decide', 150],
    ['after-send', 250],
    ['after-persist', 350],
  ];
  for (const [point, count] of points) {
    it(`killed ${point} (#${count}), the restarted bot has the same trades, no duplicate order and a stop on its position`, async () => {
      const bot = `k${point.replace(/\W/g, '').slice(5, 11)}`;
      const crashed = run(bot, ['bot', 'run', '--replay', '--from', SESSION_START], { OITRADER_BOT_CRASH_AT: `${point}:${count}` });
      assert.equal(crashed.signal, 'SIGKILL', `the bot should have been killed at ${point}: ${crashed.out.slice(-500)}`);
      const partial = await fillKeys(bot);
      assert.ok(partial.length < reference.length, 'the crash must happen before the end of the span');
      const restarted = run(bot, ['bot', 'run', '--replay']);
      assert.equal(restarted.status, 0, restarted.out);
      assert.match(restarted.out, /reconciled: replayed \d+ candles, 0 differences/, 'after the restart the stored record must equal the venue');
      assert.deepEqual(await fillKeys(bot), reference, 'a killed and restarted bot traded differently from one never killed');
      await withBotStore(async (store) => {
        const orders = await store.orders(bot);
        const entries = orders.filter((o) => o.intent === 'entry');
        assert.equal(new Set(entries.map((o) => `${o.symbol} ${o.candleTimeMs}`)).size, entries.length, 'two entries for one symbol and candle: a decision was sent twice');
        for (const symbol of ['SOLUSDT', 'BTCUSDT']) {
          const position = await store.position(bot, symbol);
          if (position && position.qtyBase !== 0) assert.ok(position.stopUsd !== undefined, `position ${position.qtyBase} ${symbol} has no stop`);
        }
      });
    });
  }

  it('live mode without --live refuses with a clear message, and no key or secret reaches the output or the log file', async () => {
    const refused = await runHere('lv', ['bot', 'run'], '  mode: live\n');
    assert.equal(refused.status, 2, refused.out);
    assert.match(refused.out, /trading\.mode is live but --live is missing/);
    const withFlag = await runHere('lv', ['bot', 'run', '--live'], '  mode: live\n');
    assert.match(withFlag.out, /leverage ≤ 5x/, 'live mode prints the limits it would use before anything else');
    const logFile = join(dir, 'logs', 'bot.log');
    const paper = run('lg', ['bot', 'run', '--replay', '--from', '2025-12-02T08:00:00Z', '--log-file', logFile]);
    assert.equal(paper.status, 0, paper.out);
    const log = readFileSync(logFile, 'utf8');
    assert.ok(log.length > 0, 'the bot wrote no log lines to --log-file');
    for (const text of [refused.out, withFlag.out, paper.out, log, (await runHere('lg', ['bot', 'status'])).out]) {
      assert.ok(!text.includes(SECRET_KEY) && !text.includes(SECRET), `a secret reached the output or log: ${text.slice(0, 300)}`);
    }
  });

  it('bot run hosts the dashboard: /metrics counts the candles it steps and the page answers while it runs; SIGTERM closes it', async () => {
    const child = spawn(process.execPath, [BIN, '--config', config('mon'), 'bot', 'run', '--from', '2025-12-02T00:00:00Z', '--for', '60'], {
      env: { ...process.env, DATABASE_URL: '', OITRADER_DASHBOARD_TOKEN: '' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const url = await until(() => /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1], () => `no dashboard URL in the bot's output:\n${out}`);
      // The stored candles from 00:00 to 11:55 on 2 December: 144, all stepped as the bot catches up.
      const metrics = await until(async () => {
        const text = await (await fetch(new URL('metrics', url))).text();
        return /^oitrader_candles_total\{bot="mon"\} 144$/m.test(text) ? text : undefined;
      }, () => `the bot's /metrics never counted the 144 stored candles:\n${out}`);
      assert.match(metrics, /^oitrader_equity_usd\{bot="mon"\} \d/m);
      assert.equal((await fetch(url)).status, 200, 'the dashboard page does not answer');
      // One running bot per name: a second run of "mon" is refused before it does anything, naming the first.
      const second = run('mon', ['bot', 'run', '--replay']);
      assert.equal(second.status, 2, second.out);
      assert.match(second.out, new RegExp(`bot "mon" is already running: paper bot "mon", pid ${child.pid} on `));
      assert.match((await runHere('mon', ['bot', 'status'])).out, new RegExp(`running: paper bot "mon", pid ${child.pid}`));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `bot run did not stop cleanly on SIGTERM:\n${out}`);
      await assert.rejects(fetch(url), 'the dashboard outlived the bot');
      assert.match((await runHere('mon', ['bot', 'status'])).out, /running: no/, 'a bot that stopped cleanly releases its lease');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('an unreachable Telegram: bot run exits 2 at telegram.timeout_seconds naming the cause, and SIGTERM ends a start still waiting', async () => {
    // A Bot API that accepts connections and never answers (before the deadline, the bot waited forever: alive at 669 s).
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const telegram = (seconds: number) => `telegram:\n  enabled: true\n  api_root: http://127.0.0.1:${(silent.address() as AddressInfo).port}\n  timeout_seconds: ${seconds}\n`;
    const env = { ...process.env, DATABASE_URL: '', TELEGRAM_TOKEN: '123456:tg-token-never-printed', TELEGRAM_CHAT_ID: '777' };
    const start = (bot: string, seconds: number) => {
      const child = spawn(process.execPath, [BIN, '--config', config(bot, telegram(seconds)), 'bot', 'run', '--from', '2025-12-02T00:00:00Z', '--for', '120'], { env });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (out += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      return { child, exited, output: () => out };
    };
    const deadline = start('tgdead', 2);
    const waiting = start('tgwait', 120);
    try {
      const code = await Promise.race([deadline.exited, new Promise((r) => setTimeout(() => r('hung'), 30_000))]);
      assert.equal(code, 2, `bot run must exit 2 when Telegram does not answer within 2 s:\n${deadline.output()}`);
      assert.match(deadline.output(), /telegram: the Bot API at http:\/\/127\.0\.0\.1:\d+ did not answer within 2 s \(getMe\)/);
      assert.match(deadline.output(), /telegram\.timeout_seconds|telegram\.enabled: false/, 'the error says how to fix it');
      assert.doesNotMatch(deadline.output(), /tg-token-never-printed/);
      // The other run waits on a 120 s deadline: SIGTERM ends it within seconds.
      await until(() => (/dashboard: http/.test(waiting.output()) ? true : undefined), () => `the waiting bot never got to its monitoring:\n${waiting.output()}`);
      waiting.child.kill('SIGTERM');
      const stopped = await Promise.race([waiting.exited, new Promise((r) => setTimeout(() => r('hung'), 10_000))]);
      assert.equal(stopped, 1, `SIGTERM must end a start-up waiting for Telegram:\n${waiting.output()}`);
      assert.match(waiting.output(), /stopped while waiting for the Telegram Bot API/);
      assert.match((await runHere('tgwait', ['bot', 'status'])).out, /running: no/, 'the stopped run releases its lease');
    } finally {
      deadline.child.kill('SIGKILL');
      waiting.child.kill('SIGKILL');
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('kill, status, flatten and resume reach the stored bot; resume refuses while the kill file exists', async () => {
    const killed = await runHere('ref', ['bot', 'kill', '--reason', 'test']);
    assert.equal(killed.status, 0, killed.out);
    assert.match((await runHere('ref', ['bot', 'status'])).out, /kill switch: ENGAGED \(test\)/);
    writeFileSync(join(dir, 'ref.KILL'), '');
    const refused = await runHere('ref', ['bot', 'resume']);
    assert.equal(refused.status, 2, 'resume must refuse while the kill file exists');
    assert.match(refused.out, /kill file/);
    rmSync(join(dir, 'ref.KILL'));
    assert.equal((await runHere('ref', ['bot', 'stop-entries', '--reason', 'news at 14:30'])).status, 0);
    assert.match((await runHere('ref', ['bot', 'status'])).out, /entries: STOPPED \(news at 14:30\)/);
    assert.equal((await runHere('ref', ['bot', 'resume'])).status, 0);
    assert.match((await runHere('ref', ['bot', 'status'])).out, /entries: allowed/, 'resume must release stop-entries');
    assert.equal((await runHere('ref', ['bot', 'flatten'])).status, 0);
    const control = await withBotStore((store) => store.control('ref'));
    assert.deepEqual([control?.killed, control?.entriesStopped, control?.flattenRequested], [false, false, true], 'resume must clear the kill switch and stop-entries, and flatten must be recorded');
    assert.equal((await runHere('nobody', ['bot', 'kill'])).status, 2, 'killing a bot that does not exist is a usage error');
  });
});

/** Polls `probe` every 200 ms until it returns a value (20 s at most). */
async function until<T>(probe: () => T | undefined | Promise<T | undefined>, why: () => string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await Promise.resolve(probe()).catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new assert.AssertionError({ message: why() });
}
