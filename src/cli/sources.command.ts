import { CommandGroup } from './cli-program';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { printList, sourceIdArgument } from './cli-common';
import { FlowdockSourceRecord, FlowdockSourceService } from '../flowdock/flowdock-sources.service';

const describe = (s: FlowdockSourceRecord) =>
  [
    s.id,
    s.flow ?? '-',
    s.name ?? '-',
    s.disabledAt
      ? `disabled since ${s.disabledAt.toISOString()}: ${s.disabledReason ?? ''}`
      : 'active',
  ].join('\t');

@SubCommand({
  name: 'list',
  description: 'the Flowdock sources the bridge posts to, and their state',
})
export class ListSourcesCommand extends CommandRunner {
  constructor(private readonly sources: FlowdockSourceService) {
    super();
  }

  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    printList(await this.sources.list(), options, describe, 'No sources.');
  }

  @Option({ flags: '--json', description: 'print JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'enable',
  arguments: '<id>',
  description: 'post to a disabled source again (after its flow works again in Flowdock)',
})
export class EnableSourceCommand extends CommandRunner {
  constructor(private readonly sources: FlowdockSourceService) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    const enabled = await this.sources.enable(sourceIdArgument(id));
    process.stdout.write(
      enabled
        ? `Enabled ${id}. Its dead letters stay dead: npm run cli -- deliveries redrive --source ${id}\n`
        : `${id} was not disabled.\n`,
    );
  }
}

@Command({
  name: 'sources',
  description: 'the Flowdock sources (flows) the bridge posts to',
  subCommands: [ListSourcesCommand, EnableSourceCommand],
})
export class SourcesCommand extends CommandGroup {
  static readonly subCommands = [ListSourcesCommand, EnableSourceCommand];
}
