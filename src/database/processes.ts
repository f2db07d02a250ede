import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Whether `pid` is a live process (of any user). A zombie counts as gone: a
 * server whose parent is a PID 1 that does not reap (node in a container
 * without an init) would otherwise look alive forever.
 */
export function isRunning(pid: number): boolean {
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ...": comm may contain spaces and parentheses.
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state !== 'Z' && state !== 'X';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The command line of `pid` with its arguments joined by spaces, or undefined
 * when it is gone: from /proc on Linux (present even in slim containers
 * without `ps`), elsewhere from `ps -o command=`.
 */
export function commandLine(pid: number): string | undefined {
  if (process.platform === 'linux') {
    try {
      const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '');
      return text ? text.split('\0').join(' ') : undefined;
    } catch {
      return undefined;
    }
  }
  try {
    const text = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return text || undefined;
  } catch {
    return undefined;
  }
}
