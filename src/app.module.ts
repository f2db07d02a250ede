import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { ActionsModule } from './actions/actions.module';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app.config';
import { appConfigModule } from './config/config.module';
import { ConversationsModule } from './conversations/conversations.module';
import { CryptoModule } from './crypto/crypto.module';
import { DatabaseModule } from './database/database.module';
import { DeliveryLogModule } from './delivery-log/delivery-log.module';
import { DeliveryWorkerModule } from './delivery/delivery-worker.module';
import { HealthModule } from './health/health.module';
import { HomeModule } from './home/home.module';
import { loggerParams } from './logging/logger.options';
import { MetricsModule } from './metrics/metrics.module';
import { SetupModule } from './setup/setup.module';
import { WebhooksModule } from './webhooks/webhooks.module';

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
        // The features: GitHub -> Flowdock, Flowdock -> GitHub, and the pages around them.
        WebhooksModule,
        DeliveryWorkerModule,
        ActionsModule,
        ConversationsModule,
        AuthModule,
        SetupModule,
        DeliveryLogModule,
        ...(options.imports ?? []),
      ],
    };
  }
}
