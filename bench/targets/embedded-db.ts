import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';

/** An embedded PostgreSQL in its own process, for the durable baseline when no server is given. */
async function main() {
  const db = await EmbeddedPostgres.start(mkdtempSync(join(tmpdir(), 'bench-db-')));
  process.stdout.write(`${db.url}\n`);
  process.on('SIGTERM', () => void db.stop().then(() => process.exit(0)));
}

void main();
