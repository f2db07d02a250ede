import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createDataSource, runMigrations } from '../../src/database/data-source';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';

/**
 * Durability is worth nothing to a database that lives for one test run.
 * Test files start apps in parallel workers, each with a pool of its own.
 */
const TEST_SERVER_SETTINGS = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: 200,
};

/**
 * One fresh database for the whole run, with every migration applied once:
 * a new database on the server named by TEST_DATABASE_URL, or one embedded
 * PostgreSQL server in a temporary directory (removed by the teardown). Test
 * files receive its URL as E2E_DATABASE_URL.
 */
export default async function globalSetup(): Promise<void> {
  const server = process.env.TEST_DATABASE_URL;
  let url: string;
  if (server) {
    const name = `bridge_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
    const admin = new Client({ connectionString: server });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const target = new URL(server);
    target.pathname = `/${name}`;
    url = target.toString();
    globalThis.__E2E_DROP__ = async () => {
      const client = new Client({ connectionString: server });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    };
  } else {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridge-test-db-'));
    const embedded = await EmbeddedPostgres.start(dataDir, { settings: TEST_SERVER_SETTINGS });
    url = embedded.url;
    globalThis.__E2E_DROP__ = async () => {
      await embedded.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }

  const dataSource = await createDataSource(url, '');
  await dataSource.initialize();
  await runMigrations(dataSource);
  await dataSource.destroy();
  process.env.E2E_DATABASE_URL = url;
}

declare global {
  var __E2E_DROP__: (() => Promise<void>) | undefined;
}
