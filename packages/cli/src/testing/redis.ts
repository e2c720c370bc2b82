import { Redis } from 'ioredis';

/** The Redis the queue tests use (.ci/run starts it). */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Is the test Redis reachable? Under CI it must be: the fan-out is tested there, not skipped (throws instead). Else a skip reason, or false to run. */
export async function redisSkipReason(): Promise<string | false> {
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  let reachable = false;
  try {
    await client.connect();
    reachable = (await client.ping()) === 'PONG';
  } catch {
    reachable = false;
  } finally {
    client.disconnect();
  }
  if (!reachable && process.env.CI) throw new Error(`Redis is not reachable at ${TEST_REDIS_URL} under CI: .ci/run must start it (redis-server --daemonize yes --bind 127.0.0.1 --port 6379)`);
  return reachable ? false : `Redis not reachable at ${TEST_REDIS_URL}: start it with \`redis-server --daemonize yes --bind 127.0.0.1 --port 6379\` (under CI this test fails instead of skipping)`;
}
