import { Injectable } from '@nestjs/common';
import type { Command, Help } from 'commander';
import { CommandRunner, InjectCommander } from 'nest-commander';

/** Exit codes of `npm run cli`, documented in the README. */
export const EXIT = { ok: 0, usage: 1, runtime: 2 } as const;

/** The root of the command tree that nest-commander builds from the @Command classes. */
@Injectable()
export class CliProgram {
  constructor(@InjectCommander() readonly root: Command) {}
}

/** What commander throws (through exitOverride) after a usage error or after showing help. */
interface CommanderExit extends Error {
  code: string;
  exitCode: number;
}

export function isCommanderExit(error: unknown): error is CommanderExit {
  const candidate = error as Partial<CommanderExit> | undefined;
  return (
    error instanceof Error &&
    typeof candidate?.code === 'string' &&
    candidate.code.startsWith('commander.') &&
    typeof candidate.exitCode === 'number'
  );
}

const EXAMPLES = `
Examples:
  echo "$FLOW_TOKEN" | npm run cli -- subscriptions add acme/widgets
  npm run cli -- subscriptions add 'acme/*' --flow-token "$FLOW_TOKEN" --events pull_request,issues.opened --ignore-bots --labels frontend
  npm run cli -- subscriptions list --json
  npm run cli -- subscriptions remove 3f1c2a9e-5b7d-4c1e-9a2f-0d6e8b4c7a11
  npm run cli -- subscriptions add --help
  npm run cli -- tokens rotate      # after moving the old key to TOKEN_DECRYPTION_KEYS
  npm run cli -- deliveries dead --json
  npm run cli -- deliveries redrive --id 1042,1043
  npm run cli -- sources list
  echo "$STREAM_TOKEN" | npm run cli -- sources stream-token <source id> --flow acme/main
  npm run cli -- webhooks redeliver --repo acme/widgets --dry-run   # needs GITHUB_ADMIN_TOKEN

Commands use the bridge's configuration (environment variables, DATA_DIR) and its database.
Exit codes: 0 done; 1 usage error (unknown command or option, missing or invalid
argument); 2 runtime error (configuration, database unreachable).`;

/**
 * Makes commander report instead of exiting, so that the caller prints each
 * failure once and chooses the exit code; refuses stray arguments; gives the
 * root help every command (with its group's name) and examples.
 */
export function prepareProgram(root: Command): void {
  root
    .name('npm run cli --')
    .usage('<command> [options]')
    .description('Operator commands of the Flowdock-GitHub bridge.')
    .configureHelp({ formatHelp: formatWithEveryCommand })
    .addHelpText('after', EXAMPLES);
  for (const command of commandTree(root)) {
    command.exitOverride().configureOutput({ outputError: () => undefined });
    // A command with subcommands receives an unknown subcommand as its argument and names it.
    if (command.commands.length === 0) command.allowExcessArguments(false);
  }
}

function commandTree(command: Command): Command[] {
  return [command, ...command.commands.flatMap(commandTree)];
}

/** The default help, with `subscriptions add …` rows instead of one `subscriptions` row. */
function formatWithEveryCommand(command: Command, helper: Help): string {
  const leaves = (c: Command): Command[] => (c.commands.length ? c.commands.flatMap(leaves) : [c]);
  const flat: Help = Object.create(helper) as Help;
  flat.visibleCommands = (c) => helper.visibleCommands(c).flatMap(leaves);
  flat.subcommandTerm = (c) => {
    const groups: string[] = [];
    for (let p = c.parent; p && p !== command; p = p.parent) groups.unshift(p.name());
    return [...groups, helper.subcommandTerm(c)].join(' ');
  };
  const defaultHelp = Object.getPrototypeOf(helper) as Help;
  return defaultHelp.formatHelp.call(flat, command, flat);
}

/**
 * A command that only groups subcommands: alone it shows its help; commander
 * hands it an unknown subcommand, which is a usage error.
 */
export abstract class CommandGroup extends CommandRunner {
  async run([unknown]: string[]): Promise<void> {
    if (unknown === undefined) this.command.help();
    this.command.error(`error: unknown command '${this.command.name()} ${unknown}'`, {
      code: 'commander.unknownCommand',
    });
  }
}
