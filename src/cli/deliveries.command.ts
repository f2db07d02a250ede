import { BadRequestException } from '@nestjs/common';
import { CommandGroup } from './cli-program';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { JsonOutputCommand, printList, sourceIdArgument } from './cli-common';
import { DeadLetter, FlowdockDeliveryService } from '../delivery/flowdock-delivery.service';

const MESSAGE_ID = /^[1-9][0-9]{0,18}$/;

function messageIds(value: string, previous: string[] = []): string[] {
  const ids = value.split(',').map((id) => id.trim());
  for (const id of ids) {
    if (!MESSAGE_ID.test(id)) throw new BadRequestException(`--id ${id} is not a message id`);
  }
  return [...previous, ...ids];
}

const describe = (d: DeadLetter) =>
  [
    d.messageId,
    d.deadAt.toISOString(),
    `source:${d.sourceId}`,
    d.externalThreadId,
    `attempts:${d.attempts}`,
    d.reason ?? '-',
  ].join('\t');

@SubCommand({
  name: 'dead',
  description: 'list the messages Flowdock refused or that failed every attempt (newest first)',
})
class DeadDeliveriesCommand extends JsonOutputCommand {
  constructor(private readonly deliveries: FlowdockDeliveryService) {
    super();
  }

  async run(_args: string[], options: { source?: string; json?: boolean }): Promise<void> {
    const dead = await this.deliveries.deadLetters({ sourceId: options.source, limit: 1000 });
    printList(dead, options, describe, 'No dead letters.');
  }

  @Option({ flags: '--source <id>', description: 'only those of this Flowdock source' })
  parseSource(value: string): string {
    return sourceIdArgument(value, `--source ${value}`);
  }
}

@SubCommand({
  name: 'redrive',
  description: 'send dead letters again (by message id, or all of a source), with fresh attempts',
})
class RedriveDeliveriesCommand extends CommandRunner {
  constructor(private readonly deliveries: FlowdockDeliveryService) {
    super();
  }

  async run(_args: string[], options: { id?: string[]; source?: string }): Promise<void> {
    const count = await this.deliveries.redrive({
      messageIds: options.id,
      sourceId: options.source,
    });
    process.stdout.write(`Queued ${count} dead letter(s) again; the bridge sends them in order.\n`);
  }

  @Option({ flags: '--id <ids>', description: 'message ids (comma-separated, repeatable)' })
  parseId(value: string, previous?: string[]): string[] {
    return messageIds(value, previous);
  }

  @Option({ flags: '--source <id>', description: 'every dead letter of this Flowdock source' })
  parseSource(value: string): string {
    return sourceIdArgument(value, `--source ${value}`);
  }
}

@Command({
  name: 'deliveries',
  description: 'messages to Flowdock that failed: list them, send them again',
  subCommands: [DeadDeliveriesCommand, RedriveDeliveriesCommand],
})
export class DeliveriesCommand extends CommandGroup {
  static readonly subCommands = [DeadDeliveriesCommand, RedriveDeliveriesCommand];
}
