import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirInUseError, DataDirLock } from './data-dir-lock';

const LOCK = 'embedded-postgres.lock';

describe('DataDirLock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lock-'));
  });

  it('writes the owner pid and removes the file on release', () => {
    const lock = DataDirLock.acquire(dir);
    expect(readFileSync(join(dir, LOCK), 'utf8')).toBe(String(process.pid));
    lock.release();
    expect(existsSync(join(dir, LOCK))).toBe(false);
  });

  it('refuses a directory held by another live process, naming it', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(join(dir, LOCK), String(holder.pid));
      expect(() => DataDirLock.acquire(dir)).toThrow(DataDirInUseError);
      expect(() => DataDirLock.acquire(dir)).toThrow(`in use by process ${holder.pid}`);
      expect(readFileSync(join(dir, LOCK), 'utf8')).toBe(String(holder.pid));
    } finally {
      holder.kill();
    }
  });

  it('takes over a lock whose owner is gone', async () => {
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => gone.on('exit', resolve));
    writeFileSync(join(dir, LOCK), String(gone.pid));
    const lock = DataDirLock.acquire(dir);
    expect(readFileSync(join(dir, LOCK), 'utf8')).toBe(String(process.pid));
    lock.release();
  });

  it('takes over an unreadable (half-written) lock file', () => {
    writeFileSync(join(dir, LOCK), '');
    const lock = DataDirLock.acquire(dir);
    expect(readFileSync(join(dir, LOCK), 'utf8')).toBe(String(process.pid));
    lock.release();
  });
});
