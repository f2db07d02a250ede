import { LOCAL_SERVER_URL, FreshDatabase, freshDatabase } from '../sandbox/world/databases';
import {
  run,
  Spawned,
  stopChildrenOnExit,
  temporaryDataDirs,
  waitForStatus,
} from '../sandbox/world/processes';

/**
 * A fresh database with every migration applied (or none: `migrate: false`),
 * on the PostgreSQL server of BENCH_DATABASE_URL (default: the local server),
 * dropped by `drop()`.
 */
export function benchDatabase({ migrate = true } = {}): Promise<FreshDatabase> {
  const server = process.env.BENCH_DATABASE_URL ?? LOCAL_SERVER_URL;
  return freshDatabase(server, { prefix: 'bridge_bench', migrate });
}

/**
 * DATA_DIRs of the bench's bridges, readable by others (an embedded server
 * runs as its own OS user); removed when the bench exits (an embedded
 * database in one is tens of MiB).
 */
const dataDirs = temporaryDataDirs('bench-', { mode: 0o755 });
export const freshDataDir = (name: string): string => dataDirs.create(name);

/**
 * For a benchmark's entry point: when it exits, whatever happens, the
 * processes it started are stopped and its DATA_DIRs removed.
 */
export const cleanUpOnExit = () => stopChildrenOnExit(() => dataDirs.removeAllNow());

/** Runs a compiled script in the bench's working directory; its output is shown if it fails. */
export const startScript = (
  script: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Spawned => run(script, env, [], { nodeArgs, cwd: process.cwd(), reportFailure: true });

/** Polls `url` every 10 ms until it answers 200; resolves with the milliseconds it took. */
export const waitReady = (url: string, process: Spawned): Promise<number> =>
  waitForStatus(url, 200, process, 120_000, 10);

/**
 * Environment of a bridge in a benchmark: explicit secrets, so every process
 * shares them. Without `databaseUrl` the bridge starts the embedded database
 * in `dataDir`.
 */
export function benchEnvironment(
  databaseUrl: string | undefined,
  dataDir: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'error',
    PUBLIC_URL: 'https://bridge.example.com',
    COOKIE_SECRET: 'bench-cookie-secret-0123456789abcdef0123456789',
    TOKEN_ENCRYPTION_KEY: 'bench-token-encryption-key-0123456789abcdef01',
    GITHUB_WEBHOOK_SECRET: 'bench-webhook-secret-0123456789abcdef012345',
    GITHUB_CLIENT_ID: 'bench-github-client',
    GITHUB_CLIENT_SECRET: 'bench-github-secret-0123456789abcdef0123456',
    FLOWDOCK_CLIENT_ID: 'bench-flowdock-client',
    FLOWDOCK_CLIENT_SECRET: 'bench-flowdock-secret-0123456789abcdef01234',
    ...overrides,
  };
}
