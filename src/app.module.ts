import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app.config';
import { appConfigModule } from './config/config.module';
import { ConversationsModule } from './conversations/conversations.module';
import { CryptoModule } from './crypto/crypto.module';
import { DatabaseModule } from './database/database.module';
import { DeliveriesModule } from './deliveries/deliveries.module';
import { FlowdockModule } from './flowdock/flowdock.module';
import { GitHubModule } from './github/github.module';
import { HealthModule } from './health/health.module';
import { HomeModule } from './home/home.module';
import { loggerParams } from './logging/logger.options';
import { MetricsModule } from './metrics/metrics.module';

export interface AppModuleOptions {
  /** Where log lines go; stdout when unset. */
  logStream?: DestinationStream;
  /** Further modules to mount (tests add routes of their own this way). */
  imports?: ModuleMetadata['imports'];
}

@Module({})
export class AppModule {
  /** The application for a configuration loaded (and validated) by loadConfig(). */
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        appConfigModule(config),
        LoggerModule.forRoot(loggerParams(config.logLevel, options.logStream)),
        CryptoModule,
        // The bridge holds DATA_DIR's embedded database and keeps its server running.
        DatabaseModule.forRoot({ embedded: 'exclusive' }),
        HealthModule,
        HomeModule,
        MetricsModule,
        AuthModule,
        FlowdockModule,
        GitHubModule,
        ConversationsModule,
        DeliveriesModule,
        ...(options.imports ?? []),
      ],
    };
  }
}
