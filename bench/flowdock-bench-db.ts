import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createDataSource, runMigrations } from '../src/database/data-source';

/**
 * A fresh database with every migration applied, on the PostgreSQL server of
 * BENCH_DATABASE_URL (default: the local server), dropped by `drop()`.
 */
export async function benchDatabase(): Promise<BenchDatabase> {
  const database = await emptyDatabase();
  const dataSource = await createDataSource(database.url, '');
  await dataSource.initialize();
  await runMigrations(dataSource);
  await dataSource.destroy();
  return database;
}

export interface BenchDatabase {
  url: string;
  drop: () => Promise<void>;
}

/** A fresh, empty database on the server of BENCH_DATABASE_URL, dropped by `drop()`. */
export async function emptyDatabase(): Promise<BenchDatabase> {
  const server = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `bridge_bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const target = new URL(server);
  target.pathname = `/${name}`;
  return {
    url: target.toString(),
    drop: async () => {
      const client = new Client({ connectionString: server });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * Environment of a bridge in a benchmark: explicit secrets, so every process
 * shares them. Without `databaseUrl` the bridge starts the embedded database
 * in `dataDir`.
 */
export function benchEnvironment(
  databaseUrl: string | undefined,
  dataDir: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'error',
    PUBLIC_URL: 'https://bridge.example.com',
    COOKIE_SECRET: 'bench-cookie-secret-0123456789abcdef0123456789',
    TOKEN_ENCRYPTION_KEY: 'bench-token-encryption-key-0123456789abcdef01',
    GITHUB_WEBHOOK_SECRET: 'bench-webhook-secret-0123456789abcdef012345',
    GITHUB_CLIENT_ID: 'bench-github-client',
    GITHUB_CLIENT_SECRET: 'bench-github-secret-0123456789abcdef0123456',
    FLOWDOCK_CLIENT_ID: 'bench-flowdock-client',
    FLOWDOCK_CLIENT_SECRET: 'bench-flowdock-secret-0123456789abcdef01234',
    ...overrides,
  };
}
