import { HttpException } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { Subscription } from '../github/subscription.entity';
import { SubscriptionService } from '../github/subscription.service';

const list = (value: string) =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** Reads the flow token from stdin, so it stays out of the shell history and the process list. */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Flow token: ');
  let data = '';
  for await (const chunk of process.stdin) data += String(chunk);
  return data.trim();
}

/** Refusals of the service (bad pattern, unknown id) become one line and exit code 1. */
function fail(error: unknown): never {
  if (error instanceof HttpException) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

function describe(s: Subscription): string {
  const filters = [
    s.eventKinds.length ? `events=${s.eventKinds.join(',')}` : null,
    s.ignoreBots ? 'ignore-bots' : null,
    s.requiredLabels.length ? `labels=${s.requiredLabels.join(',')}` : null,
  ].filter(Boolean);
  return [s.id, s.repositoryPattern, `source:${s.sourceId}`, filters.join(' ') || '-'].join('\t');
}

interface AddOptions {
  flowToken?: string;
  events?: string[];
  ignoreBots?: boolean;
  labels?: string[];
  json?: boolean;
}

@SubCommand({
  name: 'add',
  arguments: '<repository>',
  description:
    'post events of owner/repo (or every repository of owner/*) to a flow; the flow token is read from stdin unless --flow-token is given',
})
export class AddSubscriptionCommand extends CommandRunner {
  constructor(private readonly subscriptions: SubscriptionService) {
    super();
  }

  async run([repository]: string[], options: AddOptions): Promise<void> {
    const flowToken = options.flowToken ?? (await readStdin());
    const added = await this.subscriptions
      .add({
        repositoryPattern: repository,
        flowToken,
        eventKinds: options.events,
        ignoreBots: options.ignoreBots,
        requiredLabels: options.labels,
      })
      .catch(fail);
    process.stdout.write(options.json ? `${JSON.stringify(added)}\n` : `${describe(added)}\n`);
  }

  @Option({ flags: '--flow-token <token>', description: 'the flow source token (prefer stdin)' })
  parseFlowToken(value: string): string {
    return value;
  }

  @Option({
    flags: '--events <kinds>',
    description: 'only these events, e.g. pull_request,issues.opened',
  })
  parseEvents(value: string): string[] {
    return list(value);
  }

  @Option({ flags: '--ignore-bots', description: 'skip events sent by bots' })
  parseIgnoreBots(): boolean {
    return true;
  }

  @Option({ flags: '--labels <labels>', description: 'only items carrying all these labels' })
  parseLabels(value: string): string[] {
    return list(value);
  }

  @Option({ flags: '--json', description: 'print JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({ name: 'remove', arguments: '<id>', description: 'remove a subscription by id' })
export class RemoveSubscriptionCommand extends CommandRunner {
  constructor(private readonly subscriptions: SubscriptionService) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    await this.subscriptions.remove(id).catch(fail);
    process.stdout.write(`removed ${id}\n`);
  }
}

@SubCommand({
  name: 'list',
  description: 'list subscriptions (flows are shown by their source id, never the token)',
})
export class ListSubscriptionsCommand extends CommandRunner {
  constructor(private readonly subscriptions: SubscriptionService) {
    super();
  }

  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    const all = await this.subscriptions.list();
    process.stdout.write(
      options.json ? `${JSON.stringify(all)}\n` : all.map((s) => `${describe(s)}\n`).join(''),
    );
  }

  @Option({ flags: '--json', description: 'print JSON' })
  parseJson(): boolean {
    return true;
  }
}

@Command({
  name: 'subscriptions',
  description: 'which repositories post to which flows',
  subCommands: [AddSubscriptionCommand, RemoveSubscriptionCommand, ListSubscriptionsCommand],
})
export class SubscriptionsCommand extends CommandRunner {
  static readonly subCommands = [
    AddSubscriptionCommand,
    RemoveSubscriptionCommand,
    ListSubscriptionsCommand,
  ];

  async run(): Promise<void> {
    this.command.help();
  }
}
