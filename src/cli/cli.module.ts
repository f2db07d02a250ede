import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { GitHubOctokitFactory } from '../auth/github-octokit.factory';
import { AppConfig } from '../config/app.config';
import { appConfigModule } from '../config/config.module';
import { CryptoModule } from '../crypto/crypto.module';
import { DatabaseModule } from '../database/database.module';
import { FlowdockSourceEntity } from '../flowdock/flowdock-source.entity';
import { FlowdockDeliveryService } from '../flowdock/flowdock-delivery.service';
import { FlowdockSourceService } from '../flowdock/flowdock-sources.service';
import { Subscription } from '../github/subscription.entity';
import { SubscriptionService } from '../github/subscription.service';
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
        TypeOrmModule.forFeature([Subscription, FlowdockSourceEntity]),
      ],
      // Flowdock's sources service only: the CLI must not start the delivery worker.
      providers: [
        FlowdockSourceService,
        SubscriptionService,
        TokenRotation,
        FlowdockDeliveryService,
        GitHubOctokitFactory,
        GitHubRedelivery,
        CliProgram,
        ...COMMANDS,
      ],
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
