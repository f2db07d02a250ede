import { DynamicModule, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { createDataSource, runMigrations } from './data-source';
import { EmbeddedPostgresOptions } from './embedded-postgres';

interface DatabaseModuleOptions {
  /**
   * How this process uses the embedded database (no DATABASE_URL):
   * `exclusive` — the bridge: it holds DATA_DIR (a second process is refused)
   * and runs the server, restarting it if it dies; `shared` — CLI commands:
   * they use the server of the process holding DATA_DIR, or run one while
   * they work.
   */
  embedded: 'exclusive' | 'shared';
  /**
   * Whether a DATABASE_URL server that cannot be reached is tried again (10
   * times, 3 s apart: it may come up later). CLI commands say `false`: whoever
   * runs a command wants the failure now.
   */
  retry?: boolean;
}

/**
 * The TypeORM data source: the PostgreSQL server named by DATABASE_URL, or the
 * embedded server in DATA_DIR. Pending migrations are applied before the
 * application starts listening.
 */
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<AppConfig, true>) => {
            const databaseUrl = config.get('databaseUrl', { infer: true });
            return {
              autoLoadEntities: true,
              retryAttempts: 10,
              retryDelay: 3000,
              // A server may come up later; an embedded one that failed to start will not.
              toRetry: () => Boolean(databaseUrl) && options.retry !== false,
              databaseUrl,
              dataDir: config.get('dataDir', { infer: true }),
            };
          },
          dataSourceFactory: async (typeOrmOptions?: DataSourceOptions) => {
            const { databaseUrl, dataDir, entities } = typeOrmOptions as DataSourceOptions & {
              databaseUrl?: string;
              dataDir: string;
            };
            const dataSource = await createDataSource(
              databaseUrl,
              dataDir,
              { entities },
              embeddedOptions(options.embedded),
            );
            try {
              await dataSource.initialize();
              const applied = await runMigrations(dataSource);
              if (applied.length > 0) {
                new Logger('Database').log(`Applied migrations: ${applied.join(', ')}`);
              }
              return dataSource;
            } catch (error) {
              await dataSource.destroy().catch(() => undefined);
              throw error;
            }
          },
        }),
      ],
    };
  }
}

function embeddedOptions(mode: DatabaseModuleOptions['embedded']): EmbeddedPostgresOptions {
  const logger = new Logger('Database');
  return {
    mode,
    log: (line) => logger.warn(line),
    // The bridge restarts a server that dies; when that fails it exits non-zero, so
    // that whatever runs it (systemd, Docker, an operator) sees the failure.
    onGiveUp:
      mode === 'exclusive'
        ? (error) => {
            logger.error(error.message);
            process.exit(1);
          }
        : undefined,
  };
}
