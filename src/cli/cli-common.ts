import { BadRequestException } from '@nestjs/common';
import { CommandRunner, Option } from 'nest-commander';
import { UUID } from '../common/ids';

/** A source id given on the command line; anything else is a usage error (exit 1). */
export function sourceIdArgument(value: string, what = value): string {
  if (!UUID.test(value)) throw new BadRequestException(`${what} is not a source id`);
  return value;
}

/** Prints a list a line each, as JSON with --json, or says that it is empty. */
export function printList<T>(
  items: T[],
  options: { json?: boolean },
  line: (item: T) => string,
  empty: string,
): void {
  if (options.json) process.stdout.write(`${JSON.stringify(items)}\n`);
  else if (items.length === 0) process.stdout.write(`${empty}\n`);
  else process.stdout.write(items.map((item) => `${line(item)}\n`).join(''));
}

/** A command whose output can be JSON: its --json option. */
export abstract class JsonOutputCommand extends CommandRunner {
  @Option({ flags: '--json', description: 'print JSON' })
  parseJson(): boolean {
    return true;
  }
}

/** Reads a token from stdin, so it stays out of the shell history and the process list. */
export async function readStdin(prompt: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(prompt);
  let data = '';
  for await (const chunk of process.stdin) data += String(chunk);
  return data.trim();
}
