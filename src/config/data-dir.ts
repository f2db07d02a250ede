import { mkdirSync } from 'node:fs';

/**
 * Creates DATA_DIR (and missing parents). As root it is traversable by other
 * users (0711, no listing): the embedded PostgreSQL server runs as another OS
 * user and must reach its own subdirectory; the files in DATA_DIR stay 0600.
 * Otherwise 0700.
 */
export function createDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: process.getuid?.() === 0 ? 0o711 : 0o700 });
}
