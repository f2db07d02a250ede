import { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';

/**
 * Where the SQL of a change runs: an EntityManager (every statement its own
 * round trip) or a PipelinedTransaction. `defer` is for statements whose rows
 * nobody reads (a lock, a write): a pipelined transaction sends them with the
 * next query or the COMMIT; anywhere else they run at once.
 */
export interface SqlSession {
  /** The statement's rows. */
  query<T>(sql: string, parameters?: unknown[]): Promise<T>;
  defer?(sql: string, parameters?: unknown[]): Promise<void>;
}

/** Runs a statement whose rows are not needed: with the session's next round trip where it can. */
export async function runLater(session: SqlSession, sql: string, params?: unknown[]) {
  if (session.defer) await session.defer(sql, params);
  else await session.query(sql, params);
}

/**
 * A string as an SQL string constant: quotes doubled, and where it holds a
 * backslash, an escape string (E'…') with every backslash doubled, so nothing
 * in it is read as an escape whatever standard_conforming_strings says. (pg's
 * escapeLiteral does the same a character at a time, slowly on the hundreds
 * of kilobytes of a batch's JSON.)
 */
function quote(text: string): string {
  const quoted = text.replace(/'/g, "''");
  return text.includes('\\') ? ` E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

/**
 * A parameter as an SQL literal, for the simple protocol (which takes no
 * parameters). A string holding a NUL is refused (the simple protocol's
 * query text ends at a NUL, and PostgreSQL refuses the character in text
 * anyway), as PostgreSQL would refuse it (SQLSTATE 22021). Bytes, and arrays
 * of anything but scalars, have no literal here: refused rather than written
 * as something else.
 */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new TypeError(`Not a finite number: ${value}`);
    return `'${String(value)}'`;
  }
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (value instanceof Uint8Array) throw new TypeError('Bytes have no SQL literal here');
  if (Array.isArray(value)) {
    const elements = value.map((v) => {
      if (v === null || v === undefined) return 'NULL';
      if (typeof v === 'object' || typeof v === 'function') {
        throw new TypeError('An array literal holds only strings, numbers and booleans');
      }
      return `"${String(v).replace(/[\\"]/g, '\\$&')}"`;
    });
    return sqlLiteral(`{${elements.join(',')}}`);
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text.includes('\0')) {
    throw Object.assign(new Error('invalid byte sequence: a text value holds a NUL (0x00)'), {
      code: '22021',
    });
  }
  return quote(text);
}

/**
 * `sql` with `$1`, `$2`… replaced by the parameters as literals. The SQL must
 * hold `$` only as placeholders (no dollar quoting).
 */
export function inlineParameters(sql: string, params: unknown[] = []): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (index < 0 || index >= params.length) throw new RangeError(`No parameter $${n}`);
    return sqlLiteral(params[index]);
  });
}

/**
 * A transaction in as few round trips as its reads allow: BEGIN and the
 * deferred statements travel with the next query, and the last deferred
 * statements with the COMMIT, each batch one message of PostgreSQL's simple
 * protocol (parameters as literals). In READ COMMITTED each statement of the
 * message still takes its own snapshot, so a load sent after a lock in the
 * same message sees what the lock's previous holder committed.
 *
 * An error in a batch skips the rest of it; the transaction is then rolled
 * back.
 */
export class PipelinedTransaction implements SqlSession {
  private queued: string[] = ['BEGIN'];

  constructor(private readonly client: PoolClient) {}

  defer(sql: string, parameters?: unknown[]): Promise<void> {
    this.queued.push(inlineParameters(sql, parameters));
    return Promise.resolve();
  }

  async query<T>(sql: string, parameters?: unknown[]): Promise<T> {
    const results = await this.send(inlineParameters(sql, parameters));
    return results[results.length - 1].rows as T;
  }

  /** Sends what is deferred with the COMMIT. */
  async commit(): Promise<void> {
    await this.send('COMMIT');
  }

  private async send(last: string): Promise<{ rows: unknown[] }[]> {
    const text = [...this.queued, last].join(';\n');
    this.queued = [];
    const result = (await this.client.query(text)) as unknown as
      { rows: unknown[] } | { rows: unknown[] }[];
    return Array.isArray(result) ? result : [result];
  }
}

/**
 * Runs `work` in a PipelinedTransaction on a connection of the data source's
 * pool and commits; any failure rolls back (a connection that cannot even do
 * that is closed, not returned to the pool).
 *
 * `waitForFlush: false` commits without waiting for the WAL to reach the
 * disk (`synchronous_commit = off`, for this transaction only): a crash of
 * PostgreSQL within a fraction of a second may then lose the transaction,
 * never a part of it and never one committed after it. Only for writes that
 * something else would redo.
 */
export async function pipelinedTransaction<T>(
  dataSource: DataSource,
  work: (tx: PipelinedTransaction) => Promise<T>,
  { waitForFlush = true }: { waitForFlush?: boolean } = {},
): Promise<T> {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) throw new Error('The data source is not initialized');
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const tx = new PipelinedTransaction(client);
    if (!waitForFlush) await tx.defer('SET LOCAL synchronous_commit = off');
    const result = await work(tx);
    await tx.commit();
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
    throw error;
  } finally {
    client.release(broken);
  }
}
