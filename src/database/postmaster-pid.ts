import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { commandLine, isRunning } from './processes';

/** What DATA_DIR/postgres/postmaster.pid says about its server (PostgreSQL's pidfile.h). */
export interface Postmaster {
  pid: number;
  port: number;
  /** `starting`, `ready`, `stopping`, `standby`. */
  status: string;
}

/** The postmaster.pid of a server that runs, or ran, on `pgdata`. */
export function readPostmaster(pgdata: string): Postmaster | undefined {
  let text: string;
  try {
    text = readFileSync(join(pgdata, 'postmaster.pid'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, port: Number(lines[3]), status: (lines[7] ?? '').trim() };
}

/**
 * Whether `pid` is a PostgreSQL server running on `pgdata` — checked before
 * acting on a postmaster.pid left behind, whose PID may belong to another
 * process by now. pg_ctl starts the server as `postgres -D <pgdata> ...`.
 */
export function isServerFor(pid: number, pgdata: string): boolean {
  const command = isRunning(pid) ? commandLine(pid) : undefined;
  if (!command || !/(^|\/)postgres -D /.test(command)) return false;
  const option = ` -D ${pgdata}`;
  return command.includes(`${option} `) || command.endsWith(option);
}

/**
 * Removes a postmaster.pid whose server is gone (crashed, killed), so that a
 * PID now used by another process cannot block the next start; returns what
 * it said. A live server's file is left alone.
 */
export function removeStalePostmaster(pgdata: string): Postmaster | undefined {
  const postmaster = readPostmaster(pgdata);
  if (!postmaster || isServerFor(postmaster.pid, pgdata)) return undefined;
  rmSync(join(pgdata, 'postmaster.pid'), { force: true });
  return postmaster;
}
