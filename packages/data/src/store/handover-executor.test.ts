import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandoverExecutor, isConnectionLoss } from './handover-executor.ts';
import type { SqlExecutor } from './sql-executor.ts';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:40123'), { code: 'ECONNREFUSED' });

/** An executor for one owner: answers until `lose()`, then every statement fails as a refused connection. */
function ownerConnection(name: string) {
  let lost = false;
  let closed = 0;
  const sql: SqlExecutor = {
    engine: 'pglite',
    query: async <Row>() => {
      if (lost) throw refused();
      return [{ owner: name }] as Row[];
    },
    exec: async () => {
      if (lost) throw refused();
    },
    transaction: async (work) => {
      if (lost) throw refused();
      return work(sql);
    },
    close: async () => void closed++,
  };
  return { sql, lose: () => (lost = true), closed: () => closed };
}

describe('HandoverExecutor: a statement whose owner went away runs again on the next owner', () => {
  it('reopens once for every statement the lost owner cut, and each gets its answer from the new owner', async () => {
    const first = ownerConnection('first');
    const second = ownerConnection('second');
    let reopens = 0;
    const sql = new HandoverExecutor(first.sql, async () => {
      reopens++;
      await new Promise((r) => setTimeout(r, 20));
      return second.sql;
    });
    first.lose();
    const answers = await Promise.all([sql.query<{ owner: string }>('SELECT 1'), sql.query<{ owner: string }>('SELECT 2'), sql.transaction((tx) => tx.query<{ owner: string }>('SELECT 3'))]);
    assert.deepEqual(answers.map((rows) => rows[0].owner), ['second', 'second', 'second'], 'a statement was answered by the owner that had gone');
    assert.equal(reopens, 1, 'three statements cut by one lost owner must reopen the database once');
    assert.equal(first.closed(), 1, "the lost owner's connection pool is closed");
    await sql.close();
    assert.equal(second.closed(), 1);
  });

  it('an error of the statement itself is not retried', async () => {
    const owner = ownerConnection('only');
    let reopens = 0;
    const sql = new HandoverExecutor({ ...owner.sql, query: async () => Promise.reject(Object.assign(new Error('relation "x" does not exist'), { code: '42P01' })) }, async () => {
      reopens++;
      return owner.sql;
    });
    await assert.rejects(sql.query('SELECT * FROM x'), /does not exist/);
    assert.equal(reopens, 0, 'a SQL error must reach the caller at once, not reopen the database');
  });

  it('a fatal reopen (the directory deleted) fails every later statement without reopening again', async () => {
    const owner = ownerConnection('gone');
    owner.lose();
    let reopens = 0;
    const gone = new Error('the embedded database directory was deleted while in use');
    const sql = new HandoverExecutor(owner.sql, async () => {
      reopens++;
      throw gone;
    }, { isFatal: (error) => error === gone });
    await assert.rejects(sql.query('SELECT 1'), /deleted while in use/);
    await assert.rejects(sql.query('SELECT 2'), /deleted while in use/);
    assert.equal(reopens, 1);
  });

  it('recognises pg and Node connection failures, and nothing else', () => {
    assert.ok(isConnectionLoss(refused()));
    assert.ok(isConnectionLoss(new Error('Connection terminated unexpectedly')));
    assert.ok(isConnectionLoss(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })));
    assert.ok(isConnectionLoss(Object.assign(new AggregateError([refused()], ''), {})));
    assert.ok(!isConnectionLoss(Object.assign(new Error('duplicate key'), { code: '23505' })));
    assert.ok(!isConnectionLoss(undefined));
  });
});
