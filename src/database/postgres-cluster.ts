import { spawn, spawnSync, SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PostgresBinaries } from './postgres-binaries';
import { Postmaster, readPostmaster } from './postmaster-pid';
import { isRunning } from './processes';
import { ServerUser } from './server-user';

const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

/**
 * One PostgreSQL data directory and the programs that drive it: initdb, and
 * pg_ctl for a clean start (waits until the server accepts connections) and a
 * fast stop (`-m fast`: no crash recovery on the next start). As root, every
 * program runs as the server user.
 */
export class PostgresCluster {
  readonly log: string;

  constructor(
    private readonly bin: PostgresBinaries,
    readonly pgdata: string,
    private readonly user: ServerUser | undefined,
  ) {
    this.log = join(pgdata, 'server.log');
  }

  get initialized(): boolean {
    return existsSync(join(this.pgdata, 'PG_VERSION'));
  }

  /**
   * Creates the cluster: superuser `postgres` with `password`, scram-sha-256 on
   * every connection. `durable: false` skips the final fsync (for a server that
   * runs with fsync=off anyway: tests).
   */
  async initdb(password: string, durable = true): Promise<void> {
    // initdb reads the password from a file the server user can read; it lives only this long.
    const pwfile = join(dirname(this.pgdata), `.initdb-${randomBytes(6).toString('hex')}`);
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    try {
      if (this.user) chownSync(pwfile, this.user.uid, this.user.gid);
      await this.run(this.bin.initdb, [
        `--pgdata=${this.pgdata}`,
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
        '--no-instructions',
        ...(durable ? [] : ['--no-sync']),
      ]);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  /** Starts the server on `port` with `settings` (`-c name=value`); resolves once it accepts connections. */
  async start(port: number, settings: Record<string, string>): Promise<void> {
    this.rotateLog();
    // pg_ctl hands -o to the server through /bin/sh: every value is single-quoted.
    const options = [`-p ${port}`];
    for (const [name, value] of Object.entries(settings)) {
      if (!/^[a-z_.]+$/.test(name) || value.includes("'")) {
        throw new Error(`Unusable server setting ${name}=${value}`);
      }
      options.push(`-c '${name}=${value}'`);
    }
    const args = ['start', '-w', '-t', '60', '-s', '-D', this.pgdata, '-l', this.log];
    try {
      await this.run(this.bin.pgCtl, [...args, '-o', options.join(' ')]);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${this.logTail()}`);
    }
  }

  /** Stops the server cleanly, if one runs; waits until it is gone. */
  async stop(): Promise<void> {
    if (!this.running()) return;
    try {
      await this.run(this.bin.pgCtl, ['stop', '-s', '-D', this.pgdata, '-m', 'fast', '-w']);
    } catch {
      // Sessions that ignore a fast shutdown for a minute: cut them off.
      await this.run(this.bin.pgCtl, ['stop', '-s', '-D', this.pgdata, '-m', 'immediate', '-w']);
    }
  }

  /** stop() for a process that is exiting (no event loop left). */
  stopSync(): void {
    if (!this.running()) return;
    const args = ['stop', '-s', '-D', this.pgdata, '-m', 'fast', '-w', '-t', '20'];
    spawnSync(this.bin.pgCtl, args, { ...this.spawnOptions(), stdio: 'ignore' });
  }

  /** The postmaster.pid of a server that runs, or ran, here. */
  postmaster(): Postmaster | undefined {
    return readPostmaster(this.pgdata);
  }

  private running(): boolean {
    const postmaster = this.postmaster();
    return postmaster !== undefined && isRunning(postmaster.pid);
  }

  private spawnOptions(): SpawnOptions {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
    if (process.env.TZ) env.TZ = process.env.TZ;
    // No PG* variables from our environment; its own session, so Ctrl-C reaches only node.
    return {
      uid: this.user?.uid,
      gid: this.user?.gid,
      env,
      cwd: dirname(this.pgdata),
      detached: true,
    };
  }

  private run(program: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(program, args, {
        ...this.spawnOptions(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.on('error', (error) => {
        const who = this.user ? ` as the OS user "${this.user.name}"` : '';
        reject(new Error(`Cannot run ${program}${who}: ${error.message}`));
      });
      child.on('close', (code, signal) => {
        if (code === 0) resolve();
        else
          reject(
            new Error(
              `${basename(program)} failed (${signal ?? `exit ${code}`}): ${output.trim()}`,
            ),
          );
      });
    });
  }

  /** pg_ctl appends to server.log forever: keep one previous file of 10 MiB at most. */
  private rotateLog(): void {
    try {
      if (statSync(this.log).size > LOG_ROTATE_BYTES) renameSync(this.log, `${this.log}.1`);
    } catch {
      // No log yet.
    }
  }

  private logTail(): string {
    try {
      const fd = openSync(this.log, 'r');
      try {
        const size = statSync(this.log).size;
        const buffer = Buffer.alloc(Math.min(size, 2000));
        readSync(fd, buffer, 0, buffer.length, size - buffer.length);
        const lines = buffer.toString().trimEnd().split('\n').slice(-8);
        return `Last lines of ${this.log}:\n${lines.join('\n')}`;
      } finally {
        closeSync(fd);
      }
    } catch {
      return `(no ${this.log})`;
    }
  }
}
