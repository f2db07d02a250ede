import { startEmbeddedServer } from '../../sandbox/world/databases';

/** An embedded PostgreSQL server in a temporary directory, for the durable baseline when no server is given. */
async function main() {
  const server = await startEmbeddedServer('bench-db-');
  process.stdout.write(`${server.url}\n`);
  // The server runs in processes of its own: nothing else keeps this one alive until SIGTERM.
  const alive = setInterval(() => undefined, 60_000);
  process.on('SIGTERM', () => {
    clearInterval(alive);
    void server.stop().then(() => process.exit(0));
  });
}

void main();
