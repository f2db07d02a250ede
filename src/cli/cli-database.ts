import { DynamicModule, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { createDataSource, runMigrations } from '../database/data-source';

/** The database could not be opened: a runtime failure, reported in one line. */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`cannot open the database: ${errorText(cause)}`);
    this.name = 'DatabaseUnavailableError';
  }
}

/** An error's message; connection errors to several addresses (AggregateError) have none. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message) return error.message;
  const inner = (error as Partial<AggregateError>).errors;
  if (Array.isArray(inner) && inner.length > 0)
    return [...new Set(inner.map(errorText))].join('; ');
  return (error as Error & { code?: string }).code ?? error.name;
}

/**
 * The database as DatabaseModule opens it for the server (DATABASE_URL, or the
 * embedded server of DATA_DIR, shared with a running bridge), without its
 * retries: whoever runs a command wants the failure now, not in half a minute.
 */
export function cliDatabase(): DynamicModule {
  return TypeOrmModule.forRootAsync({
    inject: [ConfigService],
    useFactory: (config: ConfigService<AppConfig, true>) => ({
      autoLoadEntities: true,
      retryAttempts: 0,
      toRetry: () => false,
      databaseUrl: config.get('databaseUrl', { infer: true }),
      dataDir: config.get('dataDir', { infer: true }),
    }),
    dataSourceFactory: async (typeOrmOptions?: DataSourceOptions) => {
      const { databaseUrl, dataDir, entities } = typeOrmOptions as DataSourceOptions & {
        databaseUrl?: string;
        dataDir: string;
      };
      const logger = new Logger('Database');
      try {
        const dataSource = await createDataSource(
          databaseUrl,
          dataDir,
          { entities },
          { mode: 'shared', log: (line) => logger.warn(line) },
        );
        try {
          await dataSource.initialize();
          const applied = await runMigrations(dataSource);
          if (applied.length > 0) logger.log(`Applied migrations: ${applied.join(', ')}`);
          return dataSource;
        } catch (error) {
          await dataSource.destroy().catch(() => undefined);
          throw error;
        }
      } catch (error) {
        throw new DatabaseUnavailableError(error);
      }
    },
  });
}
