import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createDataDir } from '../config/data-dir';
import { EmbeddedDatabaseError } from './embedded-database.error';
import { isRunning } from './processes';

export class DataDirInUseError extends EmbeddedDatabaseError {
  constructor(
    dataDir: string,
    readonly pid: number,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by process ${pid}. ` +
        'Stop that process, or give this one another DATA_DIR (or a DATABASE_URL).',
    );
  }
}

/**
 * An exclusive lock on a data directory, held by the process that runs its
 * embedded PostgreSQL server (the bridge, or a CLI command while no bridge
 * runs). Two processes managing one server would stop and restart it under
 * each other, so the second one must fail, or use the holder's server. The
 * lock file names the owner's pid; a lock whose owner is gone (killed,
 * crashed) is taken over.
 */
export class DataDirLock {
  private released = false;

  private constructor(private readonly file: string) {}

  static acquire(dataDir: string, name = 'embedded-postgres.lock'): DataDirLock {
    createDataDir(dataDir);
    const file = join(dataDir, name);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new DataDirLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = readOwner(file);
      if (owner !== undefined && owner !== process.pid && isRunning(owner)) {
        throw new DataDirInUseError(dataDir, owner);
      }
      // The owner is gone (or the file is half-written by a dead process): stale.
      try {
        unlinkSync(file);
      } catch {
        // Another process removed it first; try again.
      }
    }
    throw new Error(`Could not lock ${file}`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      if (readOwner(this.file) === process.pid) unlinkSync(this.file);
    } catch {
      // Already gone.
    }
  }
}

function readOwner(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
