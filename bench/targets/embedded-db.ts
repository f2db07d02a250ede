import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';

/** An embedded PostgreSQL server in a temporary directory, for the durable baseline when no server is given. */
async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-db-'));
  const db = await EmbeddedPostgres.start(dataDir);
  process.stdout.write(`${db.url}\n`);
  // The server runs in processes of its own: nothing else keeps this one alive until SIGTERM.
  const alive = setInterval(() => undefined, 60_000);
  process.on('SIGTERM', () => {
    clearInterval(alive);
    void db.stop().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

void main();
