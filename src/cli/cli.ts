import 'reflect-metadata';
import { HttpException } from '@nestjs/common';
import { CommandFactory } from 'nest-commander';
import { ConfigError, loadConfig } from '../config/app.config';
import { CliModule } from './cli.module';
import { CliProgram, EXIT, isCommanderExit, prepareProgram } from './cli-program';

/** Stops the usage check once the command line names a command to run. */
class ReadyToRun extends Error {}

/**
 * `npm run cli -- <command> ...` with the server's configuration and database.
 * The command line is checked first, without either, so help and usage errors
 * need neither; then the command runs. Each failure is one line on stderr.
 */
async function main(argv: string[]): Promise<number> {
  const args = argv.length > 0 ? argv : ['--help'];
  const checked = await checkUsage(args);
  if (checked !== 'run') return checked;

  let config;
  try {
    config = loadConfig().config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) fail(`invalid configuration: ${problem}`);
    return EXIT.runtime;
  }
  let app;
  try {
    app = await CommandFactory.createWithoutRunning(CliModule.forRoot(config), {
      logger: ['warn'],
      abortOnError: false,
    });
  } catch (error) {
    // Opening the database is all the start does that can fail.
    fail(`cannot open the database: ${errorText(error)}`);
    return EXIT.runtime;
  }
  try {
    const program = app.get(CliProgram).root;
    prepareProgram(program);
    await program.parseAsync(args, { from: 'user' });
    return EXIT.ok;
  } finally {
    await app.close();
  }
}

/** Parses the command line on the bare command tree: 'run', or the exit code once help or an error was shown. */
async function checkUsage(args: string[]): Promise<'run' | number> {
  const app = await CommandFactory.createWithoutRunning(CliModule.forUsage(), {
    logger: false,
    abortOnError: false,
  });
  try {
    const program = app.get(CliProgram).root;
    prepareProgram(program);
    // Commands with subcommands only show help or name an unknown subcommand: they run here.
    program.hook('preAction', (_hooked, action) => {
      if (action.commands.length === 0) throw new ReadyToRun();
    });
    await program.parseAsync(args, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ReadyToRun) return 'run';
    throw error;
  } finally {
    await app.close();
  }
}

/** An error's message; connection errors to several addresses (AggregateError) have none. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message) return error.message;
  const inner = (error as Partial<AggregateError>).errors;
  if (Array.isArray(inner) && inner.length > 0)
    return [...new Set(inner.map(errorText))].join('; ');
  return (error as Error & { code?: string }).code ?? error.name;
}

function fail(message: string): void {
  process.stderr.write(`error: ${message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}\n`);
}

/** 1 for what the person typed (commander's usage errors, refusals of a value), 2 for the rest. */
function report(error: unknown): number {
  if (isCommanderExit(error)) {
    // Help was shown already; usage errors were not (their output is silenced to print them once).
    const helpShown = error.code === 'commander.help' || error.code === 'commander.helpDisplayed';
    if (!helpShown) fail(error.message);
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  fail(errorText(error));
  if (error instanceof HttpException && error.getStatus() < 500) return EXIT.usage;
  return EXIT.runtime;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => (process.exitCode = report(error)),
);
