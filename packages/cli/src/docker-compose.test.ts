import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ENV_OVERRIDE_NAMES, parseConfig } from '@oitrader/core';
import { buildProgram } from './main.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const compose = parse(readFileSync(`${ROOT}docker/docker-compose.yml`, 'utf8')) as {
  services: Record<string, Record<string, unknown>>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync(`${ROOT}docker/Dockerfile`, 'utf8');
/** The natively-run PostgreSQL the tests and CI use (.ci/run starts it): the same port as the container. */
const NATIVE_URL = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');

const run0 = () => buildProgram().commands.find((c) => c.name() === 'bot')!.commands.find((c) => c.name() === 'run')!;

describe('docker/docker-compose.yml (no Docker engine here: checked statically)', () => {
  const db = compose.services.futures_db;
  const collector = compose.services.collector;

  it('runs TimescaleDB as futures_db: database futures_db, healthcheck, volume, port 5432 like the native server', () => {
    assert.equal(db.container_name, 'futures_db');
    assert.match(String(db.image), /^timescale\/timescaledb:/);
    const env = db.environment as Record<string, string>;
    assert.equal(env.POSTGRES_DB, 'futures_db');
    assert.match(env.POSTGRES_PASSWORD, /^\$\{POSTGRES_PASSWORD/);
    assert.deepEqual(db.ports, [`127.0.0.1:${NATIVE_URL.port}:5432`], 'the database is published on the host\'s loopback only');
    assert.match(JSON.stringify(db.healthcheck), /pg_isready .*-d futures_db/);
    const [volume] = db.volumes as string[];
    assert.ok(volume.endsWith(':/var/lib/postgresql/data') && volume.split(':')[0] in compose.volumes);
  });

  it('runs the collector after the database is healthy, restarting unless stopped, with the config mounted', () => {
    assert.equal(collector.restart, 'unless-stopped');
    assert.deepEqual(collector.depends_on, { futures_db: { condition: 'service_healthy' } });
    const env = collector.environment as Record<string, string>;
    const mounted = (collector.volumes as string[]).map((v) => v.split(':'));
    assert.ok(mounted.some(([from, to]) => from === '../config.yaml' && to === env.OITRADER_CONFIG), 'the mounted file is the one OITRADER_CONFIG names');
    const url = new URL(env.DATABASE_URL.replace('${POSTGRES_PASSWORD}', 'x'));
    assert.equal(url.hostname, 'futures_db');
    assert.equal(url.port, '5432');
    assert.equal(url.pathname, '/futures_db');
    assert.deepEqual(collector.command, ['collect']);
    const probe = (collector.healthcheck as { test: string[] }).test;
    assert.deepEqual(probe.slice(0, 3), ['CMD', 'node', 'packages/cli/bin/oitrader.mjs']);
    const health = buildProgram().commands.find((c) => c.name() === 'data')?.commands.find((c) => c.name() === 'health');
    assert.ok(health && probe.includes('health') && probe.includes('--max-age'), 'the healthcheck runs `data health --max-age`');
    assert.ok(buildProgram().commands.some((c) => c.name() === 'collect'), 'the command the container runs exists');
  });

  it('runs the bot after the database and the collector, restarting unless stopped, logs on a volume, same secrets as the collector', () => {
    const bot = compose.services.bot;
    assert.equal(bot.restart, 'unless-stopped');
    assert.deepEqual(bot.depends_on, { futures_db: { condition: 'service_healthy' }, collector: { condition: 'service_started' } });
    const { OITRADER_DASHBOARD_TOKEN: token, ...shared } = bot.environment as Record<string, string>;
    assert.deepEqual(shared, collector.environment, 'the bot reads the same database and secrets as the collector');
    assert.match(token, /^\$\{OITRADER_DASHBOARD_TOKEN:\?[^}]+\}$/, "the dashboard's control token is passed from the environment, never a value, and compose refuses to start without it");
    const command = bot.command as string[];
    assert.deepEqual(command.slice(0, 2), ['bot', 'run']);
    assert.ok(!command.includes('--live'), 'the shipped compose file must never trade real money by default');
    const run = buildProgram().commands.find((c) => c.name() === 'bot')?.commands.find((c) => c.name() === 'run');
    assert.ok(run?.options.some((o) => o.long === '--log-file'), 'the command the container runs takes --log-file');
    assert.equal(command[command.indexOf('--collector') + 1], 'external', 'beside the collector service the bot must not run a second collector');
    assert.ok(run?.options.some((o) => o.long === '--collector'), 'the command the container runs takes --collector');
    const logFile = command[command.indexOf('--log-file') + 1];
    const logs = (bot.volumes as string[]).map((v) => v.split(':')).find(([from]) => from in compose.volumes);
    assert.ok(logs && logFile.startsWith(`${logs[1]}/`), `the log file ${logFile} must be on the named logs volume`);
  });

  it("publishes the bot's dashboard on the host's 127.0.0.1 only, reachable: the container listens on every interface at the configured port", () => {
    const bot = compose.services.bot;
    const defaults = parseConfig({});
    const command = bot.command as string[];
    assert.equal(command[command.indexOf('--dashboard-host') + 1], '0.0.0.0', 'inside the container 127.0.0.1 is unreachable from the published port');
    assert.ok(command.includes('--allow-remote') && run0().options.some((o) => o.long === '--allow-remote'), 'a dashboard on 0.0.0.0 starts only with --allow-remote (and the token)');
    const run = buildProgram().commands.find((c) => c.name() === 'bot')?.commands.find((c) => c.name() === 'run');
    assert.ok(run?.options.some((o) => o.long === '--dashboard-host'), 'the command the container runs takes --dashboard-host');
    const [published] = bot.ports as string[];
    const parts = published.split(':');
    assert.equal(parts[0], '127.0.0.1', 'the dashboard must not be published on every interface of the host');
    assert.equal(Number(parts[parts.length - 1]), defaults.dashboard.port, 'the container port is the one the bot listens on (dashboard.port)');
    assert.equal(defaults.dashboard.enabled, true, 'bot run serves the dashboard by default');
  });

  it('every port any service publishes is bound to the host\'s loopback', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of (service.ports as string[] | undefined) ?? []) assert.ok(port.startsWith('127.0.0.1:'), `${name} publishes ${port} on every interface of the host`);
    }
  });

  it('mounts the models and agents the bot trades with where the config looks for them', () => {
    const bot = compose.services.bot;
    const workdir = /^WORKDIR (\S+)$/m.exec(dockerfile)![1];
    const defaults = parseConfig({}).models;
    const mounts = new Map((bot.volumes as string[]).map((v) => v.split(':')).map(([from, to]) => [to, from]));
    for (const dir of [defaults.dir, defaults.agents_dir]) {
      const inside = posix.join(workdir, dir);
      assert.ok(mounts.has(inside), `the bot container has nothing mounted at ${inside} (${dir} from the config)`);
    }
  });

  it('passes exactly the secrets the config reads from the environment, as references, never values', () => {
    const env = collector.environment as Record<string, string>;
    assert.deepEqual(Object.keys(env).filter((k) => k !== 'OITRADER_CONFIG').sort(), [...ENV_OVERRIDE_NAMES].sort());
    for (const [name, value] of Object.entries(env)) {
      if (name === 'OITRADER_CONFIG') continue;
      assert.match(value, /\$\{[A-Z_]+(:-)?\}|\$\{POSTGRES_PASSWORD\}/, `${name} must come from the environment`);
    }
  });

  it('runs Redis for the job queue on the port the native server and the tests use, with a healthcheck and a volume', () => {
    const redis = compose.services.redis;
    assert.match(String(redis.image), /^redis:/);
    assert.equal(redis.restart, 'unless-stopped');
    assert.deepEqual(redis.ports, ['127.0.0.1:6379:6379'], 'Redis has no password by default: publish it on loopback only');
    assert.match(JSON.stringify(redis.healthcheck), /redis-cli.*ping/);
    const [volume] = redis.volumes as string[];
    assert.ok(volume.endsWith(':/data') && volume.split(':')[0] in compose.volumes, 'the queue survives a container restart');
  });

  it('runs a training worker on that Redis, with the config and the shared features/models disk mounted', () => {
    const worker = compose.services.worker;
    assert.deepEqual(worker.command, ['worker']);
    assert.ok(buildProgram().commands.some((c) => c.name() === 'worker'), 'the command the container runs exists');
    assert.equal(worker.image, collector.image, 'the worker runs the same image as the collector');
    assert.deepEqual(worker.depends_on, { redis: { condition: 'service_healthy' } });
    const env = worker.environment as Record<string, string>;
    assert.equal(new URL(env.REDIS_URL).hostname, 'redis', 'the worker reaches the redis service by name');
    assert.ok(ENV_OVERRIDE_NAMES.includes('REDIS_URL'), 'REDIS_URL must be read by the config, else the worker ignores it');
    const mounted = (worker.volumes as string[]).map((v) => v.split(':'));
    assert.ok(mounted.some(([from, to]) => from === '../config.yaml' && to === env.OITRADER_CONFIG), 'the mounted file is the one OITRADER_CONFIG names');
    assert.ok(mounted.some(([, to]) => to === '/app/data') && mounted.some(([, to]) => to === '/app/models'), 'jobs name features files on the shared disk: the worker must see data/ and models/');
    assert.ok(!('BINANCE_SECRET' in env) && !('TELEGRAM_TOKEN' in env), 'a training worker needs no exchange or Telegram secrets');
  });

  it('the image copies every workspace manifest and runs the CLI as an unprivileged user', () => {
    const root = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { workspaces: string[] };
    assert.deepEqual(root.workspaces, ['packages/*']);
    const packages = readdirSync(`${ROOT}packages`).filter((p) => existsSync(`${ROOT}packages/${p}/package.json`));
    assert.ok(packages.length >= 11);
    for (const pkg of packages) {
      assert.ok(existsSync(`${ROOT}packages/${pkg}/package.json`));
      assert.match(dockerfile, new RegExp(`COPY packages/${pkg}/package.json`), `Dockerfile copies packages/${pkg}/package.json`);
    }
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /ENTRYPOINT \["node", "packages\/cli\/bin\/oitrader.mjs"\]/);
    // The config the image ships is valid for the CLI it runs.
    assert.doesNotThrow(() => parseConfig(parse(readFileSync(`${ROOT}config.example.yaml`, 'utf8'))));
  });
});
