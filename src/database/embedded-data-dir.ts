import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { EmbeddedDatabaseError } from './embedded-database.error';

/**
 * The embedded database's files in DATA_DIR: the server's data directory
 * `postgres/` (owned by the server's OS user, 0700; its log is
 * `postgres/server.log`) and the generated password of its superuser,
 * `postgres-password` (0600, owned by the bridge's user).
 */
export class EmbeddedDataDir {
  readonly pgdata: string;
  private readonly passwordFile: string;

  constructor(readonly dir: string) {
    this.pgdata = join(dir, 'postgres');
    this.passwordFile = join(dir, 'postgres-password');
  }

  /** The embedded database before this one (in-process, not a server) kept its files in DATA_DIR/pgdata. */
  refuseOlderLayout(): void {
    const old = join(this.dir, 'pgdata');
    if (!existsSync(join(old, 'PG_VERSION'))) return;
    throw new EmbeddedDatabaseError(
      `${old} holds a database created by an older version of the bridge, which this ` +
        `version cannot open: move it away (for example to ${old}.old) or choose another ` +
        `DATA_DIR. Its data is not migrated; the embedded database now lives in ${this.pgdata}.`,
    );
  }

  /** Creates the server's directory for `owner` (PostgreSQL insists on owning it), or checks its owner. */
  preparePgdata(owner: { uid: number; gid: number } | undefined): void {
    if (!existsSync(this.pgdata)) {
      mkdirSync(this.pgdata, { mode: 0o700 });
      if (owner) chownSync(this.pgdata, owner.uid, owner.gid);
      return;
    }
    const uid = owner?.uid ?? process.getuid?.();
    const found = statSync(this.pgdata).uid;
    if (uid !== undefined && found !== uid) {
      throw new EmbeddedDatabaseError(
        `${this.pgdata} belongs to uid ${found}, but its server would run as uid ${uid}: run the ` +
          `bridge as the user it ran as before (as root, the server runs as the OS user ` +
          `"postgres"), or give the directory to uid ${uid} (chown -R).`,
      );
    }
  }

  /** A new password for a new cluster, kept for every later start. */
  createPassword(): string {
    const password = randomBytes(24).toString('base64url');
    writeFileSync(this.passwordFile, `${password}\n`, { mode: 0o600 });
    chmodSync(this.passwordFile, 0o600);
    return password;
  }

  readPassword(): string {
    try {
      return readFileSync(this.passwordFile, 'utf8').trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new EmbeddedDatabaseError(
        code === 'ENOENT'
          ? `${this.passwordFile} is missing, and the database in ${this.pgdata} cannot be ` +
              `opened without it: restore it, or move ${this.pgdata} away to start anew.`
          : `Cannot read ${this.passwordFile} (${code}): run this as the user that runs the bridge.`,
      );
    }
  }
}
