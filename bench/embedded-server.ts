import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, ClientConfig } from 'pg';
import { procKiB } from './measure';

/**
 * What the bench can learn, from the outside, about the PostgreSQL server a
 * bridge started for itself in its DATA_DIR (the embedded database): its
 * processes (for their memory) and a read-only connection (for the thread
 * rows). Nothing here asks the bridge's code: an embedded database that keeps
 * no server process (PGlite runs inside the bridge) yields `undefined`.
 */

interface PostmasterInfo {
  pid: number;
  port: number;
  host: string;
}

/** The first `postmaster.pid` below `dir` (a few levels deep), parsed. */
export function findPostmaster(dir: string, depth = 4): PostmasterInfo | undefined {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  const file = entries.find((e) => e.isFile() && e.name === 'postmaster.pid');
  if (file) {
    // pid, data directory, start time, port, socket directory, listen address, ...
    const lines = readFileSync(join(dir, file.name), 'utf8').split('\n');
    const pid = Number(lines[0]);
    const listen = (lines[5] ?? '').split(',')[0].trim();
    if (pid > 0 && isPostgres(pid)) {
      return {
        pid,
        port: Number(lines[3]) || 5432,
        host: listen === '' || listen === '*' || listen === 'localhost' ? '127.0.0.1' : listen,
      };
    }
  }
  if (depth === 0) return undefined;
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === 'node_modules') continue;
    const found = findPostmaster(join(dir, entry.name), depth - 1);
    if (found) return found;
  }
  return undefined;
}

/** A stale postmaster.pid may name a reused pid: only a live `postgres` counts. */
function isPostgres(pid: number): boolean {
  try {
    return /postgres/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** The postmaster and its children (backends and the server's own workers). */
function serverProcesses(postmasterPid: number): number[] {
  const pids = [postmasterPid];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (pid > 0 && pid !== postmasterPid && parentOf(pid) === postmasterPid) pids.push(pid);
  }
  return pids;
}

export interface ServerMemory {
  processes: number;
  /** VmRSS summed: counts the shared buffers once per process that touched them. */
  rssMiB: number;
  /** Proportional set size summed: shared pages divided among their processes. */
  pssMiB: number;
}

export function serverMemory(postmasterPid: number): ServerMemory {
  const pids = serverProcesses(postmasterPid);
  const sum = (f: (pid: number) => number) => pids.reduce((s, pid) => s + f(pid), 0);
  return {
    processes: pids.length,
    rssMiB: Math.round(sum((p) => procKiB(p, 'status', 'VmRSS')) / 1024),
    pssMiB: Math.round(sum((p) => procKiB(p, 'smaps_rollup', 'Pss')) / 1024),
  };
}

/**
 * Samples the memory of the server in `dataDir` every `intervalMs` (the
 * server appears once the bridge has started it) and keeps the peaks.
 */
export class ServerMemorySampler {
  private timer: NodeJS.Timeout;
  private postmaster: number | undefined;
  peak: ServerMemory | undefined;

  constructor(
    private readonly dataDir: string,
    intervalMs = 500,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    if (this.postmaster === undefined || !isPostgres(this.postmaster)) {
      this.postmaster = findPostmaster(this.dataDir)?.pid;
    }
    if (this.postmaster === undefined) return;
    const now = serverMemory(this.postmaster);
    this.peak = {
      processes: Math.max(this.peak?.processes ?? 0, now.processes),
      rssMiB: Math.max(this.peak?.rssMiB ?? 0, now.rssMiB),
      pssMiB: Math.max(this.peak?.pssMiB ?? 0, now.pssMiB),
    };
  }

  stop(): ServerMemory | undefined {
    this.sample();
    clearInterval(this.timer);
    return this.peak;
  }
}

/** Small files outside the server's own directory: where a bridge may keep the password or URL. */
function smallFiles(dir: string, depth = 2): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  if (entries.some((e) => e.name === 'PG_VERSION')) return [];
  const texts: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isFile() && statSync(path).size <= 2048) {
      try {
        texts.push(readFileSync(path, 'utf8'));
      } catch {
        // unreadable: not ours
      }
    } else if (entry.isDirectory() && depth > 0) {
      texts.push(...smallFiles(path, depth - 1));
    }
  }
  return texts;
}

interface Credentials {
  user: string;
  password?: string;
  database?: string;
}

/** Connection guesses from the files in `dataDir`: URLs first, then password-like strings. */
function guesses(dataDir: string): Credentials[] {
  const found: Credentials[] = [];
  const passwords = new Set<string | undefined>([undefined, 'password']);
  for (const text of smallFiles(dataDir)) {
    for (const match of text.matchAll(/postgres(?:ql)?:\/\/[^\s"'`]+/g)) {
      try {
        const url = new URL(match[0]);
        found.push({
          user: decodeURIComponent(url.username) || 'postgres',
          password: url.password ? decodeURIComponent(url.password) : undefined,
          database: url.pathname.slice(1) || undefined,
        });
      } catch {
        // not a URL after all
      }
    }
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      for (const [key, value] of Object.entries(json))
        if (/pass/i.test(key) && typeof value === 'string') passwords.add(value);
    } catch {
      const line = text.trim();
      if (line.length > 0 && line.length <= 200 && !/\s/.test(line)) passwords.add(line);
    }
  }
  for (const password of passwords) found.push({ user: 'postgres', password });
  return found.slice(0, 40);
}

/** A connection that can only read (the bench must not change the bridge's data). */
export async function connectReadOnly(config: ClientConfig): Promise<Client> {
  const client = new Client({
    connectionTimeoutMillis: 2_000,
    ...config,
    options: '-c default_transaction_read_only=on',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

const tryConnect = (config: ClientConfig) =>
  connectReadOnly(config).catch(() => undefined as Client | undefined);

/**
 * A read-only connection to the database that holds the bridge's
 * `github_thread` on the server started in `dataDir`; `undefined` with the
 * reason when there is no such server or no way in.
 */
export async function connectToEmbedded(
  dataDir: string,
): Promise<{ client: Client } | { reason: string }> {
  const postmaster = findPostmaster(dataDir);
  if (!postmaster) return { reason: `no running PostgreSQL server with its files in ${dataDir}` };
  for (const guess of guesses(dataDir)) {
    const server = { host: postmaster.host, port: postmaster.port, ...guess };
    const admin = await tryConnect({ ...server, database: guess.database ?? 'postgres' });
    if (!admin) continue;
    const rows = (
      await admin.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate',
      )
    ).rows.map((r) => r.datname);
    for (const database of [guess.database ?? 'postgres', ...rows]) {
      const client: Client | undefined =
        database === (guess.database ?? 'postgres')
          ? admin
          : await tryConnect({ ...server, database });
      if (!client) continue;
      const table = await client.query<{ t: string | null }>(
        `SELECT to_regclass('public.github_thread')::text AS t`,
      );
      if (table.rows[0].t) {
        if (client !== admin) await admin.end();
        return { client };
      }
      if (client !== admin) await client.end();
    }
    await admin.end();
    return {
      reason: `no database with github_thread on the embedded server (port ${postmaster.port})`,
    };
  }
  return {
    reason: `could not connect to the embedded server on port ${postmaster.port} with what ${dataDir} holds`,
  };
}

/**
 * After its bridge has stopped, the server in `dataDir` should be gone. If it
 * is still running after `graceMs`, it is shut down (SIGINT: PostgreSQL's
 * fast shutdown) so the bench leaves nothing behind; resolves with its pid
 * then (a failure to report), undefined when there was none.
 */
export async function stopLeftoverServer(
  dataDir: string,
  graceMs = 5_000,
): Promise<number | undefined> {
  const deadline = Date.now() + graceMs;
  let postmaster = findPostmaster(dataDir);
  while (postmaster && Date.now() < deadline) {
    await sleep(100);
    postmaster = findPostmaster(dataDir);
  }
  if (!postmaster) return undefined;
  process.kill(postmaster.pid, 'SIGINT');
  for (let i = 0; i < 100 && isPostgres(postmaster.pid); i++) await sleep(100);
  return postmaster.pid;
}
