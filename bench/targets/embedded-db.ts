import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';

/** An embedded PostgreSQL server in a temporary directory, for the durable baseline when no server is given. */
async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-db-'));
  const db = await EmbeddedPostgres.start(dataDir);
  process.stdout.write(`${db.url}\n`);
  process.on('SIGTERM', () => {
    void db.stop().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

void main();
