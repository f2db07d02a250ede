import { CommandGroup } from './cli-program';
import { Command, CommandRunner, Help, Option, SubCommand } from 'nest-commander';
import { Subscription } from '../subscriptions/subscription.entity';
import { NewSubscription, SubscriptionService } from '../subscriptions/subscription.service';
import { JsonOutputCommand, printList, readStdin } from './cli-common';

const list = (value: string) =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

function describe(s: Subscription): string {
  const filters = [
    s.eventKinds.length ? `events=${s.eventKinds.join(',')}` : null,
    s.ignoreBots ? 'ignore-bots' : null,
    s.requiredLabels.length ? `labels=${s.requiredLabels.join(',')}` : null,
    s.excludeLabels.length ? `exclude-labels=${s.excludeLabels.join(',')}` : null,
    s.excludeUsers.length ? `exclude-users=${s.excludeUsers.join(',')}` : null,
    `drafts=${s.drafts}`,
  ].filter(Boolean);
  return [s.id, s.repositoryPattern, `source:${s.sourceId}`, filters.join(' ') || '-'].join('\t');
}

interface AddOptions {
  flowToken?: string;
  events?: string[];
  ignoreBots?: boolean;
  labels?: string[];
  excludeLabels?: string[];
  excludeUsers?: string[];
  drafts?: string;
  json?: boolean;
}

@SubCommand({
  name: 'add',
  arguments: '<repository>',
  description: 'post the events of owner/repo, or of every repository of owner/*, to a flow',
})
class AddSubscriptionCommand extends JsonOutputCommand {
  constructor(private readonly subscriptions: SubscriptionService) {
    super();
  }

  async run([repository]: string[], options: AddOptions): Promise<void> {
    const flowToken = options.flowToken ?? (await readStdin('Flow token: '));
    const added = await this.subscriptions.add({
      repositoryPattern: repository,
      flowToken,
      eventKinds: options.events,
      ignoreBots: options.ignoreBots,
      requiredLabels: options.labels,
      excludeLabels: options.excludeLabels,
      excludeUsers: options.excludeUsers,
      drafts: options.drafts as NewSubscription['drafts'],
    });
    process.stdout.write(options.json ? `${JSON.stringify(added)}\n` : `${describe(added)}\n`);
  }

  @Help('after')
  examples(): string {
    return `
The flow token is read from stdin unless --flow-token is given.
A bad repository, an empty token or the same repository and flow twice is refused (exit code 1).
The rules judge the item as it is after each event: when an item starts to match (a required
label added, an excluded one removed, a draft marked ready), its thread appears in the flow
then, with one message saying why. Drafts are silent until ready unless --drafts announce.

Examples:
  echo "$FLOW_TOKEN" | npm run cli -- subscriptions add acme/widgets
  npm run cli -- subscriptions add 'acme/*' --flow-token "$FLOW_TOKEN" --events pull_request,issues.opened --ignore-bots --labels frontend --json
  npm run cli -- subscriptions add acme/widgets --exclude-users 'dependabot*,*[bot]' --exclude-labels wip,skip-chat --drafts announce`;
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

  @Option({
    flags: '--exclude-labels <labels>',
    description: 'not items carrying any of these labels',
  })
  parseExcludeLabels(value: string): string[] {
    return list(value);
  }

  @Option({
    flags: '--exclude-users <logins>',
    description:
      "not events sent by, nor items authored by, these logins or globs ('dependabot*,*[bot]')",
  })
  parseExcludeUsers(value: string): string[] {
    return list(value);
  }

  @Option({
    flags: '--drafts <rule>',
    description:
      'draft pull requests: when-ready (silent until ready for review, the default) or announce',
  })
  parseDrafts(value: string): string {
    return value;
  }
}

@SubCommand({ name: 'remove', arguments: '<id>', description: 'remove a subscription by id' })
class RemoveSubscriptionCommand extends CommandRunner {
  constructor(private readonly subscriptions: SubscriptionService) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    await this.subscriptions.remove(id);
    process.stdout.write(`removed ${id}\n`);
  }
}

@SubCommand({
  name: 'list',
  description: 'list subscriptions (a flow is shown by its source id, never its token)',
})
class ListSubscriptionsCommand extends JsonOutputCommand {
  constructor(private readonly subscriptions: SubscriptionService) {
    super();
  }

  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    const all = await this.subscriptions.list();
    printList(all, options, describe, 'No subscriptions.');
  }
}

@Command({
  name: 'subscriptions',
  description: 'which repositories post to which flows',
  subCommands: [AddSubscriptionCommand, RemoveSubscriptionCommand, ListSubscriptionsCommand],
})
export class SubscriptionsCommand extends CommandGroup {
  static readonly subCommands = [
    AddSubscriptionCommand,
    RemoveSubscriptionCommand,
    ListSubscriptionsCommand,
  ];

  @Help('after')
  examples(): string {
    return `
Examples:
  echo "$FLOW_TOKEN" | npm run cli -- subscriptions add acme/widgets
  npm run cli -- subscriptions list --json
  npm run cli -- subscriptions remove 3f1c2a9e-5b7d-4c1e-9a2f-0d6e8b4c7a11`;
  }
}
