import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createDataSource, runMigrations } from '../../src/database/data-source';
import { EmbeddedPostgres, EmbeddedPostgresOptions } from '../../src/database/embedded-postgres';

/** The PostgreSQL server these machines run, for what needs a server rather than the embedded one. */
export const LOCAL_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface FreshDatabase {
  url: string;
  drop: () => Promise<void>;
}

/**
 * A new database on the server of `serverUrl`, named `<prefix>_<time>_<random>`,
 * with every migration applied (or none, with `migrate: false`: for bridges
 * that migrate it themselves); `drop()` removes it, connections and all. For
 * a bridge whose configuration must not meet other bridges' (every bridge
 * processes whatever its database holds).
 */
export async function freshDatabase(
  serverUrl: string,
  { prefix = 'bridge_test', migrate = true }: { prefix?: string; migrate?: boolean } = {},
): Promise<FreshDatabase> {
  const name = `${prefix}_${Date.now()}_${randomBytes(3).toString('hex')}`;
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
  if (migrate) await migrateDatabase(url);
  return { url, drop };
}

/** Applies every migration to the database at `url`. */
export async function migrateDatabase(url: string): Promise<void> {
  const dataSource = await createDataSource(url, '');
  await dataSource.initialize();
  try {
    await runMigrations(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * An embedded PostgreSQL server in a new temporary directory; `stop()` stops
 * it and removes the directory.
 */
export async function startEmbeddedServer(
  prefix: string,
  options?: EmbeddedPostgresOptions,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const server = await EmbeddedPostgres.start(dataDir, options);
  return {
    url: server.url,
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
