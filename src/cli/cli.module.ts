import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { AppConfig } from '../config/app.config';
import { appConfigModule } from '../config/config.module';
import { CryptoModule } from '../crypto/crypto.module';
import { DatabaseModule } from '../database/database.module';
import { FlowdockSourceEntity } from '../flowdock/flowdock-source.entity';
import { FlowdockSourceService } from '../flowdock/flowdock-sources.service';
import { Subscription } from '../github/subscription.entity';
import { SubscriptionService } from '../github/subscription.service';
import { loggerParams } from '../logging/logger.options';
import { SubscriptionsCommand } from './subscriptions.command';

/** The operator CLI: the same configuration and database as the server, no HTTP. */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        appConfigModule(config),
        // Logs go to stderr so that stdout carries only the command's output.
        LoggerModule.forRoot(loggerParams('warn', pino.destination(2))),
        CryptoModule,
        // Works beside a running bridge: uses its embedded server instead of failing.
        DatabaseModule.forRoot({ embedded: 'shared' }),
        TypeOrmModule.forFeature([Subscription, FlowdockSourceEntity]),
      ],
      // Flowdock's sources service only: the CLI must not start the delivery worker.
      providers: [
        FlowdockSourceService,
        SubscriptionService,
        SubscriptionsCommand,
        ...SubscriptionsCommand.subCommands,
      ],
    };
  }
}
