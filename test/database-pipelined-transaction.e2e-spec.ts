import { randomBytes } from 'node:crypto';
import { Client, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import {
  inlineParameters,
  PipelinedTransaction,
  pipelinedTransaction,
  sqlLiteral,
} from '../src/database/pipelined-transaction';

/**
 * PipelinedTransaction against a real PostgreSQL: parameters become literals
 * that PostgreSQL reads back exactly, deferred statements travel with the next
 * round trip, a failure rolls everything back, and a load sent in the same
 * message as a lock sees what the lock's previous holder committed.
 */
describe('PipelinedTransaction (real PostgreSQL)', () => {
  const table = `pipelined_${randomBytes(4).toString('hex')}`;
  const clients: Client[] = [];
  let dataSource: DataSource;

  const connect = async () => {
    const client = new Client({ connectionString: process.env.E2E_DATABASE_URL });
    await client.connect();
    clients.push(client);
    return client;
  };
  /** A client whose round trips are counted. */
  const counted = (client: Client) => {
    const counter = { trips: 0, client: undefined as unknown as PoolClient };
    counter.client = {
      query: (text: string) => {
        counter.trips++;
        return client.query(text);
      },
    } as unknown as PoolClient;
    return counter;
  };
  const rows = async () =>
    (await clients[0].query<{ v: string }>(`SELECT v FROM ${table} ORDER BY v`)).rows.map(
      (r) => r.v,
    );

  beforeAll(async () => {
    const admin = await connect();
    await admin.query(`CREATE TABLE ${table} (v text PRIMARY KEY, n int NOT NULL DEFAULT 0)`);
    dataSource = new DataSource({
      type: 'postgres',
      url: process.env.E2E_DATABASE_URL,
      extra: { max: 1 },
    });
    await dataSource.initialize();
  });
  afterEach(async () => {
    await clients[0].query(`DELETE FROM ${table}`);
  });
  afterAll(async () => {
    await clients[0]?.query(`DROP TABLE IF EXISTS ${table}`);
    await dataSource?.destroy();
    for (const client of clients) await client.end().catch(() => undefined);
  });

  it('writes parameters as literals that PostgreSQL reads back exactly', async () => {
    const client = clients[0];
    const texts = [
      '',
      "it's",
      "'; DROP TABLE x; --",
      "back\\slash \\' mixed",
      '$1 $$ dollar $tag$',
      'line\nbreak\ttab\r',
      'émoji 🎉 and 中文',
      '{"json": "value", "n": [1, 2]}',
      '"quoted", {braces}, NULL',
    ];
    for (const text of texts) {
      const { rows } = await client.query(`SELECT ${sqlLiteral(text)}::text AS v`);
      expect(rows[0].v).toBe(text);
    }
    const array = ['a', 'with "quotes"', 'with,comma', 'back\\slash', '{}', 'NULL'];
    const { rows: arrays } = await client.query(`SELECT ${sqlLiteral(array)}::text[] AS v`);
    expect(arrays[0].v).toEqual(array);
    const { rows: empty } = await client.query(`SELECT ${sqlLiteral([])}::bigint[] AS v`);
    expect(empty[0].v).toEqual([]);
    // A negative number right after a minus sign must not start a comment.
    const { rows: numbers } = await client.query(
      inlineParameters('SELECT 1-$1::int AS d, $2::boolean AS b, $3::text AS n', [-1, false, null]),
    );
    expect(numbers[0]).toEqual({ d: 2, b: false, n: null });
    const { rows: objects } = await client.query(
      `SELECT (${sqlLiteral({ a: "it's" })}::jsonb)->>'a' AS a`,
    );
    expect(objects[0].a).toBe("it's");
  });

  it('refuses what it cannot write: a NUL, a missing parameter, a number that is not finite, bytes, nested arrays', () => {
    let refused: unknown;
    try {
      sqlLiteral('a\0b');
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ code: '22021' });
    expect(() => inlineParameters('SELECT $1, $2', ['a'])).toThrow('No parameter $2');
    expect(() => sqlLiteral(Number.NaN)).toThrow('Not a finite number');
    expect(() => sqlLiteral(Buffer.from('ab'))).toThrow('Bytes have no SQL literal');
    expect(() => sqlLiteral([['a'], ['b']])).toThrow('only strings, numbers and booleans');
    expect(() => sqlLiteral([{ a: 1 }])).toThrow('only strings, numbers and booleans');
    // $10 is the tenth parameter, not the first followed by a 0.
    const ten = Array.from({ length: 10 }, (_, i) => `p${i + 1}`);
    expect(inlineParameters('$1 $10', ten)).toBe("'p1' 'p10'");
  });

  it('sends BEGIN and the deferred statements with the next query, the rest with COMMIT', async () => {
    const counter = counted(await connect());
    const tx = new PipelinedTransaction(counter.client);
    await tx.defer(`INSERT INTO ${table} (v) VALUES ($1)`, ['a']);
    await tx.defer(`INSERT INTO ${table} (v) VALUES ($1)`, ['b']);
    expect(counter.trips).toBe(0);
    const seen = await tx.query<{ count: string }[]>(`SELECT count(*) FROM ${table}`);
    expect(seen[0].count).toBe('2');
    expect(counter.trips).toBe(1);
    // Not committed yet: another connection does not see the rows.
    expect(await rows()).toEqual([]);
    await tx.defer(`INSERT INTO ${table} (v) VALUES ($1)`, ['c']);
    await tx.commit();
    expect(counter.trips).toBe(2);
    expect(await rows()).toEqual(['a', 'b', 'c']);
  });

  it('rolls the whole transaction back when a statement of the last round trip fails', async () => {
    await clients[0].query(`INSERT INTO ${table} (v) VALUES ('taken')`);
    await expect(
      pipelinedTransaction(dataSource, async (tx) => {
        await tx.query(`INSERT INTO ${table} (v) VALUES ($1) RETURNING v`, ['first']);
        await tx.defer(`INSERT INTO ${table} (v) VALUES ($1)`, ['second']);
        await tx.defer(`INSERT INTO ${table} (v) VALUES ($1)`, ['taken']);
        await tx.defer(`INSERT INTO ${table} (v) VALUES ($1)`, ['third']);
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await rows()).toEqual(['taken']);
    // The connection went back to the pool (of one) out of its transaction, and works.
    const after = await pipelinedTransaction(dataSource, (tx) =>
      tx.query<{ v: string }[]>(`INSERT INTO ${table} (v) VALUES ($1) RETURNING v`, ['next']),
    );
    expect(after).toEqual([{ v: 'next' }]);
    expect(await rows()).toEqual(['next', 'taken']);
  });

  it("a load sent with a lock sees what the lock's previous holder committed", async () => {
    await clients[0].query(`INSERT INTO ${table} (v, n) VALUES ('row', 1)`);
    const holder = await connect();
    const key = Math.floor(Math.random() * 1e9);
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1)', [key]);
    await holder.query(`UPDATE ${table} SET n = 2 WHERE v = 'row'`);

    const tx = new PipelinedTransaction((await connect()) as unknown as PoolClient);
    await tx.defer('SELECT pg_advisory_xact_lock($1)', [key]);
    const loading = tx.query<{ n: number }[]>(`SELECT n FROM ${table} WHERE v = 'row'`);
    let settled = false;
    void loading.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false); // waiting for the lock
    await holder.query('COMMIT');
    expect(await loading).toEqual([{ n: 2 }]);
    await tx.commit();
  });

  it('commits without waiting for the flush only when asked, for that transaction only', async () => {
    const setting = (tx: PipelinedTransaction) =>
      tx.query<{ synchronous_commit: string }[]>('SHOW synchronous_commit');
    // The connection's own setting (the tests' embedded server turns it off).
    await dataSource.query('SET synchronous_commit = on');
    const unflushed = await pipelinedTransaction(dataSource, setting, { waitForFlush: false });
    expect(unflushed).toEqual([{ synchronous_commit: 'off' }]);
    // The same connection (a pool of one), next transaction: the connection's setting again.
    const next = await pipelinedTransaction(dataSource, setting);
    expect(next).toEqual([{ synchronous_commit: 'on' }]);
  });
});
