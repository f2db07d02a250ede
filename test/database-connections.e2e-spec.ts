import { Logger, LoggerService } from '@nestjs/common';
import { Client, Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { createDataSource } from '../src/database/data-source';
import { standaloneClient } from '../src/database/pg-connection';

/** Lines the application logged at warn, as Nest's logger received them. */
class WarnCollector implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

/**
 * A connection the server drops while nothing holds a query on it emits
 * 'error' with no query to fail. Every client the bridge makes listens for it,
 * so the process stays up whoever held the connection at that moment.
 */
describe('database connections dropped by the server', () => {
  let dataSource: DataSource;
  let admin: Client;
  const logs = new WarnCollector();

  beforeAll(async () => {
    Logger.overrideLogger(logs);
    dataSource = await createDataSource(process.env.E2E_DATABASE_URL, '');
    await dataSource.initialize();
    admin = new Client({ connectionString: process.env.E2E_DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await dataSource?.destroy();
    Logger.overrideLogger(new Logger());
  });

  const dropped = async (client: Client) => {
    const ended = new Promise((resolve) => client.once('end', resolve));
    const pid = (client as Client & { processID: number }).processID;
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await ended;
  };

  it('a pooled connection checked out between two queries: logged, the pool goes on', async () => {
    const pool = (dataSource.driver as unknown as { master: Pool }).master;
    const held: PoolClient = await pool.connect();
    // Out of the pool and between queries: neither the pool nor TypeORM listens now.
    expect(held.listenerCount('error')).toBe(1);
    await dropped(held);
    held.release(true);

    expect(logs.warnings.join('\n')).toContain(
      'A database connection failed while nothing used it: terminating connection due to administrator command',
    );
    await expect(dataSource.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
  });

  it('a connection of its own (the notification listener kind) is listened to from the start', async () => {
    const client = standaloneClient(dataSource);
    await client.connect();
    const before = logs.warnings.length;
    await dropped(client);
    expect(logs.warnings.length).toBe(before + 1);
  });
});
