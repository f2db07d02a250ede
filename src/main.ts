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
  const app = await createApp(config);
  const logger = app.get(Logger);
  if (envFile) logger.log(`Read variables not set in the environment from ${envFile}`, 'Config');
  for (const warning of warnings) logger.warn(warning, 'Config');
  // SIGTERM/SIGINT close the application: shutdown hooks run, the database
  // pool closes, and the embedded database (if any) stops after it.
  app.enableShutdownHooks();
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

bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `The bridge failed to start: ${(error as Error)?.message ?? String(error)}\n`,
  );
  process.exit(1);
});
