import './heap-growth';
import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app.config';

async function bootstrap(): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const { config, warnings, envFile } = loaded;
  const stopAsked = whileStarting();
  const app = await createApp(config);
  const logger = app.get(Logger);
  if (envFile) logger.log(`Read variables not set in the environment from ${envFile}`, 'Config');
  for (const warning of warnings) logger.warn(warning, 'Config');
  // SIGTERM/SIGINT close the application: shutdown hooks run, the database
  // pool closes, and the embedded database (if any) stops after it.
  app.enableShutdownHooks();
  const signal = stopAsked();
  if (signal) {
    logger.log(`${signal} arrived while starting: stopping`, 'Bootstrap');
    await app.close();
    process.kill(process.pid, signal);
    return;
  }
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close(); // stops the embedded database server
    throw error;
  }
  logger.log(
    `Listening on ${config.host}:${config.port} (public URL ${config.publicUrl}); ` +
      `database: ${config.databaseUrl ? 'server' : `embedded in ${config.dataDir}`}`,
    'Bootstrap',
  );
}

/**
 * A SIGTERM or SIGINT that arrives before the application can close itself
 * (systemd stopping a bridge that is still migrating, Ctrl-C during the first
 * initdb) is remembered, so start-up ends in a clean stop instead of leaving
 * the embedded server running. A second one ends the process at once.
 * Returns what arrived, and stops listening.
 */
function whileStarting(): () => NodeJS.Signals | undefined {
  let arrived: NodeJS.Signals | undefined;
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  const remember = (signal: NodeJS.Signals) => {
    arrived = signal;
    for (const s of signals) process.off(s, remember);
    process.stderr.write(`${signal}: the bridge stops once it has started (again to stop now)\n`);
  };
  for (const s of signals) process.on(s, remember);
  return () => {
    for (const s of signals) process.off(s, remember);
    return arrived;
  };
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `The bridge failed to start: ${(error as Error)?.message ?? String(error)}\n`,
  );
  process.exit(1);
});
