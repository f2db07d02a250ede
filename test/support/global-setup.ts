import { freshDatabase, migrateDatabase, startEmbeddedServer } from '../../sandbox/world/databases';

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
    const database = await freshDatabase(server, { migrate: false });
    url = database.url;
    globalThis.__E2E_DROP__ = database.drop;
  } else {
    const embedded = await startEmbeddedServer('bridge-test-db-', {
      settings: TEST_SERVER_SETTINGS,
    });
    url = embedded.url;
    globalThis.__E2E_DROP__ = embedded.stop;
  }
  await migrateDatabase(url);
  process.env.E2E_DATABASE_URL = url;
}

declare global {
  var __E2E_DROP__: (() => Promise<void>) | undefined;
}
