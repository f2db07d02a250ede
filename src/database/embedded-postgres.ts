import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { join } from 'node:path';
import { DataDirLock } from './data-dir-lock';

/**
 * PostgreSQL (PGlite) in this process, served on a loopback port so that the
 * ordinary `pg` driver and TypeORM connect to it exactly as to a server.
 * `dataDir` undefined keeps the database in memory (tests).
 */
export class EmbeddedPostgres {
  private constructor(
    readonly url: string,
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    private readonly lock: DataDirLock | undefined,
  ) {}

  static async start(dataDir: string | undefined): Promise<EmbeddedPostgres> {
    const lock = dataDir === undefined ? undefined : DataDirLock.acquire(dataDir);
    let db: PGlite | undefined;
    try {
      db = await PGlite.create(dataDir === undefined ? undefined : join(dataDir, 'pgdata'));
      // Every pool connection needs a slot: the default of 1 makes extra
      // connections fail with ECONNRESET.
      const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 64 });
      await server.start();
      const url = `postgres://postgres@${server.getServerConn()}/postgres`;
      return new EmbeddedPostgres(url, db, server, lock);
    } catch (error) {
      await db?.close().catch(() => undefined);
      lock?.release();
      throw error;
    }
  }

  async stop(): Promise<void> {
    try {
      await this.server.stop();
      if (!this.db.closed) await this.db.close();
    } finally {
      this.lock?.release();
    }
  }
}
