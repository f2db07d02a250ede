import { DataSource, DataSourceOptions } from 'typeorm';
import { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded-postgres';
import { migrations } from './migrations';
import { ListenedClient } from './pg-connection';

/** Options shared by the application and the TypeORM CLI (ormconfig.ts). */
function dataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    extra: {
      max: 10,
      connectionTimeoutMillis: 5_000,
      // Keeps a dead server from hanging a query (and readiness) forever.
      query_timeout: 30_000,
      application_name: 'flowdock-github-bridge',
      // Every pooled connection has an 'error' listener, whoever holds it.
      Client: ListenedClient,
    },
  };
}

/**
 * A DataSource on the embedded database: destroy() closes the pool first, then
 * stops the server (if this process started it), so no session is cut off.
 */
class EmbeddedDataSource extends DataSource {
  constructor(
    options: DataSourceOptions,
    private readonly embedded: EmbeddedPostgres,
  ) {
    super(options);
  }

  override async destroy(): Promise<void> {
    try {
      if (this.isInitialized) await super.destroy();
    } finally {
      await this.embedded.stop();
    }
  }
}

/**
 * Builds the data source: the server at `databaseUrl`, or, when it is unset,
 * the embedded database in `dataDir` (started here, or the running server of
 * the process holding `dataDir` with `embedded.mode` 'shared'; stopped by
 * destroy() when started here). The caller initializes it.
 */
export async function createDataSource(
  databaseUrl: string | undefined,
  dataDir: string,
  extra: Partial<DataSourceOptions> = {},
  embedded: EmbeddedPostgresOptions = {},
): Promise<DataSource> {
  if (databaseUrl) {
    return new DataSource({ ...dataSourceOptions(databaseUrl), ...extra } as DataSourceOptions);
  }
  const server = await EmbeddedPostgres.start(dataDir, embedded);
  const options = { ...dataSourceOptions(server.url), ...extra } as DataSourceOptions;
  return new EmbeddedDataSource(options, server);
}

const MIGRATION_LOCK_KEY = 7_301_202_611; // any constant shared by every replica

/**
 * Applies pending migrations under a PostgreSQL advisory lock, so replicas
 * starting together do not run the same migration twice.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}
