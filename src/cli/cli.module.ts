import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { GitHubOctokitFactory } from '../auth/github-octokit.factory';
import { AppConfig } from '../config/app.config';
import { appConfigModule } from '../config/config.module';
import { CryptoModule } from '../crypto/crypto.module';
import { DatabaseModule } from '../database/database.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { FlowdockDeliveryService } from '../delivery/flowdock-delivery.service';
import { FlowdockSourceService } from '../flowdock/flowdock-source.service';
import { FlowdockModule } from '../flowdock/flowdock.module';
import { SubscriptionService } from '../subscriptions/subscription.service';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module';
import { loggerParams } from '../logging/logger.options';
import { CliProgram } from './cli-program';
import { DeliveriesCommand } from './deliveries.command';
import { GitHubRedelivery } from './github-redelivery';
import { SourcesCommand } from './sources.command';
import { SubscriptionsCommand } from './subscriptions.command';
import { TokenRotation } from './token-rotation';
import { TokensCommand } from './tokens.command';
import { WebhooksCommand } from './webhooks.command';

const COMMANDS = [
  SubscriptionsCommand,
  ...SubscriptionsCommand.subCommands,
  TokensCommand,
  ...TokensCommand.subCommands,
  DeliveriesCommand,
  ...DeliveriesCommand.subCommands,
  SourcesCommand,
  ...SourcesCommand.subCommands,
  WebhooksCommand,
  ...WebhooksCommand.subCommands,
];

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
        DatabaseModule.forRoot({ embedded: 'shared', retry: false }),
        // The same feature modules as the server, but not the delivery worker
        // (DeliveryWorkerModule) nor any HTTP feature.
        FlowdockModule,
        SubscriptionsModule,
        DeliveryModule,
      ],
      providers: [TokenRotation, GitHubOctokitFactory, GitHubRedelivery, CliProgram, ...COMMANDS],
    };
  }

  /**
   * The command tree alone, to check a command line (and show help) before any
   * configuration or database is needed. Its commands are parsed, never run, so
   * the services they would call are left empty.
   */
  static forUsage(): DynamicModule {
    return {
      module: CliModule,
      providers: [
        { provide: SubscriptionService, useValue: {} },
        { provide: TokenRotation, useValue: {} },
        { provide: FlowdockDeliveryService, useValue: {} },
        { provide: FlowdockSourceService, useValue: {} },
        { provide: GitHubRedelivery, useValue: {} },
        CliProgram,
        ...COMMANDS,
      ],
    };
  }
}
