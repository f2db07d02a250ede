import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createDataSource, runMigrations } from '../../src/database/data-source';

export interface TestDatabase {
  url: string;
  drop: () => Promise<void>;
}

/**
 * A new database with every migration applied (or none, with `migrate: false`:
 * for bridges that migrate it themselves), on the server of `serverUrl`.
 * For a bridge whose configuration must not meet the other tests' apps (every
 * app processes whatever the database holds: an app with a default flow would
 * take other tests' deliveries).
 */
export async function freshDatabase(
  serverUrl: string,
  { migrate = true }: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const name = `bridge_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const target = new URL(serverUrl);
  target.pathname = `/${name}`;
  const url = target.toString();
  const drop = () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  if (!migrate) return { url, drop };
  const dataSource = await createDataSource(url, '');
  await dataSource.initialize();
  await runMigrations(dataSource);
  await dataSource.destroy();
  return { url, drop };
}
