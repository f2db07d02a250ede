import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { isDeadlock, retryOnDeadlock } from '../src/database/deadlocks';

/**
 * Two transactions that lock the same rows in opposite orders: PostgreSQL
 * aborts one of them (40P01). Wrapped in retryOnDeadlock, both complete.
 */
describe('retryOnDeadlock (real PostgreSQL deadlocks)', () => {
  const table = `deadlock_${randomBytes(4).toString('hex')}`;
  const clients: Client[] = [];
  const connect = async () => {
    const client = new Client({ connectionString: process.env.E2E_DATABASE_URL });
    await client.connect();
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    const admin = await connect();
    await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)`);
    await admin.query(`INSERT INTO ${table} VALUES (1, 0), (2, 0)`);
  });
  afterAll(async () => {
    await clients[0]?.query(`DROP TABLE IF EXISTS ${table}`);
    for (const client of clients) await client.end().catch(() => undefined);
  });

  /** Locks `first`, waits until the other side holds its first row, then locks `second`. */
  const crossing = async (
    client: Client,
    first: number,
    second: number,
    held: { mine: () => void; theirs: Promise<void> },
  ) => {
    await client.query('BEGIN');
    try {
      await client.query(`UPDATE ${table} SET n = n + 1 WHERE id = $1`, [first]);
      held.mine();
      await held.theirs;
      await client.query(`UPDATE ${table} SET n = n + 1 WHERE id = $1`, [second]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  };

  const race = async (wrap: <T>(work: () => Promise<T>) => Promise<T>) => {
    const [a, b] = [await connect(), await connect()];
    let aHolds!: () => void;
    let bHolds!: () => void;
    const aHeld = new Promise<void>((resolve) => (aHolds = resolve));
    const bHeld = new Promise<void>((resolve) => (bHolds = resolve));
    // Only the first attempt waits for the other side: a retry runs alone.
    let firstA = true;
    let firstB = true;
    return Promise.allSettled([
      wrap(() =>
        crossing(a, 1, 2, {
          mine: aHolds,
          theirs: firstA ? ((firstA = false), bHeld) : Promise.resolve(),
        }),
      ),
      wrap(() =>
        crossing(b, 2, 1, {
          mine: bHolds,
          theirs: firstB ? ((firstB = false), aHeld) : Promise.resolve(),
        }),
      ),
    ]);
  };

  it('without it, PostgreSQL aborts one side with a deadlock', async () => {
    const results = await race((work) => work());
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(isDeadlock(failed[0].reason)).toBe(true);
  });

  it('with it, the aborted side goes again and both complete', async () => {
    const before = await clients[0].query<{ n: number }>(`SELECT sum(n)::int AS n FROM ${table}`);
    const results = await race(retryOnDeadlock);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const after = await clients[0].query<{ n: number }>(`SELECT sum(n)::int AS n FROM ${table}`);
    expect(after.rows[0].n - before.rows[0].n).toBe(4);
  });

  it('other errors are not retried', async () => {
    let calls = 0;
    await expect(
      retryOnDeadlock(async () => {
        calls++;
        throw Object.assign(new Error('duplicate key'), { code: '23505' });
      }),
    ).rejects.toThrow('duplicate key');
    expect(calls).toBe(1);
  });
});
