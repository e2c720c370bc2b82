import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OitraderError } from '@oitrader/core';
import type { SqlExecutor } from '@oitrader/data';
import { botTestEngines } from '../testing/engines.ts';
import { accountLeaseKey, BotLease, botLeaseHolder } from './bot-lease.ts';

const refused = (pattern: RegExp) => (error: unknown) => error instanceof OitraderError && error.exitCode === 2 && pattern.test(error.message);

for (const engine of await botTestEngines()) {
  describe(`bot lease on ${engine.name}: one running bot per name and per account`, () => {
    let sql: SqlExecutor;
    before(async () => {
      sql = await engine.open();
    });
    after(async () => {
      await sql.close();
    });

    it('a second run of the same bot is refused, naming the first; after release it may start', async () => {
      const first = await BotLease.acquire(sql, { bot: 'alpha', mode: 'sim', host: 'box', pid: 101, isAlive: () => true });
      await assert.rejects(BotLease.acquire(sql, { bot: 'alpha', mode: 'sim', host: 'box', pid: 202, isAlive: () => true }), refused(/bot "alpha" is already running: sim bot "alpha", pid 101 on box/));
      assert.equal((await botLeaseHolder(sql, 'alpha'))?.holder.pid, 101);
      await first.release();
      assert.equal(await botLeaseHolder(sql, 'alpha'), undefined);
      const second = await BotLease.acquire(sql, { bot: 'alpha', mode: 'sim', host: 'box', pid: 202, isAlive: () => true });
      await second.release();
    });

    it('two bot names on one exchange account: the second is refused and takes no lease at all', async () => {
      const account = accountLeaseKey('live', 'https://fapi.binance.com', 'the-api-key');
      assert.doesNotMatch(account, /the-api-key/, 'the key itself is never stored');
      const first = await BotLease.acquire(sql, { bot: 'one', mode: 'live', account, host: 'box', pid: 101, isAlive: () => true });
      await assert.rejects(BotLease.acquire(sql, { bot: 'two', mode: 'live', account, host: 'other', pid: 7, isAlive: () => true }), refused(/account is already traded by live bot "one", pid 101 on box/));
      assert.equal(await botLeaseHolder(sql, 'two'), undefined, 'all or none: the bot lease of the refused run was rolled back');
      // Another account is another lease.
      const other = await BotLease.acquire(sql, { bot: 'two', mode: 'live', account: accountLeaseKey('live', 'https://fapi.binance.com', 'another-key'), host: 'other', pid: 7 });
      await Promise.all([first.release(), other.release()]);
    });

    it('a holder whose process is gone on this host is taken over at once; the old run then loses its lease on the next heartbeat', async () => {
      const crashed = await BotLease.acquire(sql, { bot: 'beta', mode: 'paper', host: 'box', pid: 303 });
      const next = await BotLease.acquire(sql, { bot: 'beta', mode: 'paper', host: 'box', pid: 404, isAlive: (pid) => pid !== 303 });
      assert.match(next.tookOver[0], /pid 303 on box.*that process is gone/);
      await next.heartbeat();
      await assert.rejects(crashed.heartbeat(), refused(/lost its lease bot:beta to paper bot "beta", pid 404 on box/));
      await crashed.release();
      assert.equal((await botLeaseHolder(sql, 'beta'))?.holder.pid, 404, "the old run's release leaves the new holder's lease alone");
      await next.release();
    });

    it('a holder on another host is taken over only after its heartbeat is older than the stale window', async () => {
      const remote = await BotLease.acquire(sql, { bot: 'gamma', mode: 'demo', host: 'far', pid: 55, isAlive: () => false });
      // Alive-ness of another host's pid says nothing: `far`'s heartbeat is fresh.
      await assert.rejects(BotLease.acquire(sql, { bot: 'gamma', mode: 'demo', host: 'near', pid: 66, isAlive: () => false }), refused(/pid 55 on far/));
      await sql.query(`UPDATE bot_leases SET heartbeat_at = now() - interval '90 seconds' WHERE bot = 'gamma'`);
      const near = await BotLease.acquire(sql, { bot: 'gamma', mode: 'demo', host: 'near', pid: 66, staleAfterMs: 60_000 });
      assert.match(near.tookOver[0], /heartbeat stopped/);
      await assert.rejects(remote.heartbeat(), refused(/lost its lease/));
      await near.release();
    });

    it('two starts at the same moment: exactly one gets the lease', async () => {
      const starts = await Promise.allSettled([1, 2, 3].map((pid) => BotLease.acquire(sql, { bot: 'delta', mode: 'sim', host: 'box', pid, isAlive: () => true })));
      const won = starts.filter((s) => s.status === 'fulfilled');
      assert.equal(won.length, 1);
      assert.equal(starts.filter((s) => s.status === 'rejected' && refused(/already running/)(s.reason)).length, 2);
      await (won[0] as PromiseFulfilledResult<BotLease>).value.release();
    });
  });
}
