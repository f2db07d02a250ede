import { Logger } from '@nestjs/common';
import { Client, ClientConfig, Pool, PoolConfig } from 'pg';
import { DataSource } from 'typeorm';

const logger = new Logger('Database');

/**
 * pg's client with an 'error' listener of its own from the start. A pool
 * listens to its idle clients and TypeORM to the ones it holds, but a
 * connection the server drops in between (handed over, or held between two
 * queries) emits 'error' to nobody, and an unheard 'error' event ends the
 * process. This listener keeps the process up and, when it is the only one,
 * says what happened (once); the client is unusable after it and its owner replaces it.
 */
export class ListenedClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    let told = false; // a dropped connection errs twice: the server's message, then the closed socket
    this.on('error', (error: Error) => {
      if (this.listenerCount('error') === 1 && !told) {
        told = true;
        logger.warn(`A database connection failed while nothing used it: ${error.message}`);
      }
    });
  }
}

/**
 * The connection settings of the data source's pool (server URL or the
 * embedded database's, timeouts, application name), for the few places that
 * need a connection of their own: a LISTEN connection, the webhook inbox's pool.
 */
function poolConfig(dataSource: DataSource): PoolConfig {
  const pool = (dataSource.driver as unknown as { master?: Pool & { options: PoolConfig } }).master;
  if (!pool) throw new Error('The data source is not initialized');
  return { ...pool.options };
}

/** A pool beside the data source's, with the same settings; errors of idle clients are logged by `onError`. */
export function extraPool(
  dataSource: DataSource,
  overrides: PoolConfig,
  onError: (error: Error) => void,
): Pool {
  const pool = new Pool({ ...poolConfig(dataSource), ...overrides });
  pool.on('error', onError);
  return pool;
}

/** A single client with the data source's settings (not from any pool). */
export function standaloneClient(dataSource: DataSource): Client {
  return new ListenedClient(poolConfig(dataSource));
}
