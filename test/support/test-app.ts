import { ModuleMetadata } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBridgeInProcess } from '../../sandbox/world/bridge-world';
import { AppConfig } from '../../src/config/app.config';

/** Environment for an app under test: the run's database, a fresh DATA_DIR. */
export function testEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  const databaseUrl = process.env.E2E_DATABASE_URL;
  if (!databaseUrl) throw new Error('E2E_DATABASE_URL is not set: run the tests through jest');
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'bridge-test-')),
    LOG_LEVEL: 'info',
    ...overrides,
  };
}

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** Every log line written so far, raw. */
  logs: string[];
}

/** The real application (production wiring), ready for app.inject(). */
export async function startTestApp(
  env: Record<string, string> = testEnvironment(),
  imports: ModuleMetadata['imports'] = [],
): Promise<TestApp> {
  const logs: string[] = [];
  const { app, config } = await startBridgeInProcess(env, {
    imports,
    logStream: { write: (line: string) => void logs.push(line) },
  });
  return { app, config, logs };
}
