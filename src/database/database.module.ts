import { Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { createDataSource, runMigrations } from './data-source';
import { EmbeddedDatabaseError } from './embedded-database.error';

/**
 * The TypeORM data source: the PostgreSQL server named by DATABASE_URL, or the
 * embedded server in DATA_DIR. Pending migrations are applied before the
 * application starts listening.
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) => ({
        autoLoadEntities: true,
        retryAttempts: config.get('databaseUrl', { infer: true }) ? 10 : 1,
        retryDelay: 3000,
        // What keeps the embedded server from starting needs a person, not a retry.
        toRetry: (error: unknown) => !(error instanceof EmbeddedDatabaseError),
        databaseUrl: config.get('databaseUrl', { infer: true }),
        dataDir: config.get('dataDir', { infer: true }),
      }),
      dataSourceFactory: async (options?: DataSourceOptions) => {
        const { databaseUrl, dataDir, entities } = options as DataSourceOptions & {
          databaseUrl?: string;
          dataDir: string;
        };
        const logger = new Logger('Database');
        const dataSource = await createDataSource(
          databaseUrl,
          dataDir,
          { entities },
          { log: (line) => logger.warn(line) },
        );
        try {
          await dataSource.initialize();
          const applied = await runMigrations(dataSource);
          if (applied.length > 0) {
            logger.log(`Applied migrations: ${applied.join(', ')}`);
          }
          return dataSource;
        } catch (error) {
          await dataSource.destroy().catch(() => undefined);
          throw error;
        }
      },
    }),
  ],
})
export class DatabaseModule {}
