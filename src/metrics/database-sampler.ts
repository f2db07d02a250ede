import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { extraPool } from '../database/pg-connection';
import { DatabaseSample, Metrics } from './metrics';

/** A scrape this soon after the last sample reuses it: frequent scrapes do not load the database. */
const MAX_AGE_MS = 2_000;
/** Connecting and querying each give up after this: the scrape then answers without the database. */
const TIMEOUT_MS = 2_000;

/**
 * One statement for every gauge. The pending rows are few and indexed
 * (partial indexes on `processed_at IS NULL` and `status = 'pending'`);
 * sources are a handful of rows.
 */
const SAMPLE = `
  SELECT i.pending AS "inboxPending", i.oldest AS "inboxOldestSeconds",
         o.pending AS "outboxPending", o.oldest AS "outboxOldestSeconds",
         s.paused AS "sourcesPaused", s.disabled AS "sourcesDisabled"
  FROM (SELECT count(*)::float8 AS pending,
               greatest(0, coalesce(extract(epoch FROM now() - min(received_at)), 0))::float8 AS oldest
        FROM github_webhook_delivery WHERE processed_at IS NULL) i,
       (SELECT count(*)::float8 AS pending,
               greatest(0, coalesce(extract(epoch FROM now() - min(created_at)), 0))::float8 AS oldest
        FROM flowdock_message WHERE status = 'pending') o,
       (SELECT count(*) FILTER (WHERE disabled_at IS NULL AND paused_until > now())::float8 AS paused,
               count(*) FILTER (WHERE disabled_at IS NOT NULL)::float8 AS disabled
        FROM flowdock_source) s`;

/**
 * Reads the backlog and source gauges from the database when scraped, at
 * most every MAX_AGE_MS, on a one-connection pool of its own (a scrape never
 * waits behind the workers' connections, nor holds one of theirs). When the
 * database does not answer, the gauges are left out and bridge_database_up is 0.
 */
@Injectable()
export class DatabaseSampler implements OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private pool: Pool | undefined;
  private sampledAt = -Infinity;
  private sampling: Promise<void> | undefined;
  private failing = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: Metrics,
  ) {}

  /** Brings the database gauges up to date (or reuses a sample younger than MAX_AGE_MS). */
  sample(): Promise<void> {
    if (this.sampling) return this.sampling;
    if (performance.now() - this.sampledAt < MAX_AGE_MS) return Promise.resolve();
    this.sampling = this.read()
      .then((sample) => this.metrics.databaseSampled(sample))
      .finally(() => {
        this.sampledAt = performance.now();
        this.sampling = undefined;
      });
    return this.sampling;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }

  private async read(): Promise<DatabaseSample | null> {
    try {
      this.pool ??= extraPool(
        this.dataSource,
        {
          max: 1,
          connectionTimeoutMillis: TIMEOUT_MS,
          statement_timeout: TIMEOUT_MS,
          query_timeout: TIMEOUT_MS,
          idleTimeoutMillis: 60_000,
        },
        (error) => this.logger.warn(`An idle metrics connection failed: ${error.message}`),
      );
      const { rows } = await this.pool.query<DatabaseSample>(SAMPLE);
      if (this.failing) this.logger.log('The database answers the metrics queries again');
      this.failing = false;
      return rows[0];
    } catch (error) {
      // Once per outage, not at every scrape.
      if (!this.failing) {
        this.logger.warn(
          `Metrics without the database gauges (bridge_database_up 0): ${(error as Error).message}`,
        );
      }
      this.failing = true;
      return null;
    }
  }
}
