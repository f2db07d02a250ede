import { Client, Pool, PoolConfig } from 'pg';
import { DataSource } from 'typeorm';

/**
 * The connection settings of the data source's pool (server URL or the
 * embedded database's, timeouts, application name), for the few places that
 * need a connection of their own: a LISTEN connection, the webhook inbox's pool.
 */
export function poolConfig(dataSource: DataSource): PoolConfig {
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
  return new Client(poolConfig(dataSource));
}
