import { BadRequestException } from '@nestjs/common';
import { CommandGroup } from './cli-program';
import { Command, CommandRunner, Help, Option, SubCommand } from 'nest-commander';
import { JsonOutputCommand, printList, readStdin, sourceIdArgument } from './cli-common';
import { FlowdockSourceRecord, FlowdockSourceService } from '../flowdock/flowdock-source.service';

const FLOW = /^[A-Za-z0-9_-]{1,100}\/[A-Za-z0-9_-]{1,100}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,100}$/;

/** What the stream of a source's flow can do, for `sources list`. */
function streamState(s: FlowdockSourceRecord): string {
  switch (s.stream.state) {
    case 'none':
      return 'replies: no stream token';
    case 'token':
      return s.flow
        ? 'replies: stream token set'
        : 'replies: stream token set, flow unknown (--flow)';
    case 'refused':
      return `replies: needs a new stream token (refused ${s.stream.at.toISOString()}: ${s.stream.reason})`;
  }
}

const describe = (s: FlowdockSourceRecord) =>
  [
    s.id,
    s.flow ?? '-',
    s.name ?? '-',
    s.disabledAt
      ? `disabled since ${s.disabledAt.toISOString()}: ${s.disabledReason ?? ''}`
      : 'active',
    streamState(s),
  ].join('\t');

@SubCommand({
  name: 'list',
  description: 'the Flowdock sources the bridge posts to, and their state',
})
class ListSourcesCommand extends JsonOutputCommand {
  constructor(private readonly sources: FlowdockSourceService) {
    super();
  }

  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    printList(await this.sources.list(), options, describe, 'No sources.');
  }
}

@SubCommand({
  name: 'enable',
  arguments: '<id>',
  description: 'post to a disabled source again (after its flow works again in Flowdock)',
})
class EnableSourceCommand extends CommandRunner {
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

@SubCommand({
  name: 'stream-token',
  arguments: '<id>',
  description:
    "give a source a token that reads its flow through Flowdock's streaming API (replies in its threads become GitHub comments)",
})
class StreamTokenCommand extends CommandRunner {
  constructor(private readonly sources: FlowdockSourceService) {
    super();
  }

  async run([id]: string[], options: { flow?: string; tokenEnv?: string }): Promise<void> {
    const sourceId = sourceIdArgument(id);
    const source = await this.sources.get(sourceId);
    if (!source) throw new BadRequestException(`${id} is not a source`);
    if (!source.flow && !options.flow) {
      throw new BadRequestException(
        `Source ${id} does not know its flow: name it with --flow organization/flow`,
      );
    }
    // Never an argument: arguments land in shell history and the process list.
    const token = options.tokenEnv
      ? (process.env[options.tokenEnv] ?? '').trim()
      : await readStdin('Stream token: ');
    if (token === '') {
      throw new BadRequestException(
        options.tokenEnv ? `${options.tokenEnv} is empty or not set` : 'No token on stdin',
      );
    }
    await this.sources.setStreamGrant(sourceId, { accessToken: token }, { flow: options.flow });
    process.stdout.write(
      `Stored the stream token of ${id} (${options.flow ?? source.flow}). Running bridges listen to it within seconds.\n`,
    );
  }

  @Help('after')
  examples(): string {
    return `
The token (an OAuth access token or API token of a member of the flow, which can read it)
is read from stdin, or from the environment variable named by --token-env; it is stored
encrypted and never printed. It replaces the source's previous stream token, also one
the stream refused.

Examples:
  echo "$STREAM_TOKEN" | npm run cli -- sources stream-token 3f1c2a9e-5b7d-4c1e-9a2f-0d6e8b4c7a11 --flow acme/main
  npm run cli -- sources stream-token 3f1c2a9e-5b7d-4c1e-9a2f-0d6e8b4c7a11 --token-env STREAM_TOKEN`;
  }

  @Option({
    flags: '--flow <organization/flow>',
    description: "the source's flow (required when the source does not know it)",
  })
  parseFlow(value: string): string {
    if (!FLOW.test(value)) throw new BadRequestException(`${value} is not organization/flow`);
    return value;
  }

  @Option({
    flags: '--token-env <name>',
    description: 'read the token from this environment variable instead of stdin',
  })
  parseTokenEnv(value: string): string {
    if (!ENV_NAME.test(value)) throw new BadRequestException(`${value} is not a variable name`);
    return value;
  }
}

@Command({
  name: 'sources',
  description: 'the Flowdock sources (flows) the bridge posts to',
  subCommands: [ListSourcesCommand, EnableSourceCommand, StreamTokenCommand],
})
export class SourcesCommand extends CommandGroup {
  static readonly subCommands = [ListSourcesCommand, EnableSourceCommand, StreamTokenCommand];
}
