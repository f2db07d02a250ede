import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { CLOCK_TOLERANCE_SECONDS } from './flowdock-action.verifier';

const PRUNE_EVERY_MS = 60_000;

/**
 * Remembers accepted FLOWDOCK-TOKENs in the database until they expire, so a
 * token is accepted once across every bridge replica. Expired entries are
 * pruned now and then (an expired token is refused by its exp anyway).
 */
@Injectable()
export class UsedActionTokenStore {
  private lastPrune = 0;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** True the first time a token is presented; false for a replay. */
  async useOnce(token: string, expiresAtSeconds: number): Promise<boolean> {
    await this.pruneNowAndThen();
    const hash = createHash('sha256').update(token).digest('hex');
    const expiresAt = new Date((expiresAtSeconds + CLOCK_TOLERANCE_SECONDS) * 1000);
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO flowdock_used_action_token (token_hash, expires_at) VALUES ($1, $2)
       ON CONFLICT (token_hash) DO NOTHING RETURNING token_hash`,
      [hash, expiresAt],
    );
    return rows.length === 1;
  }

  async prune(): Promise<number> {
    const result: [unknown[], number] = await this.dataSource.query(
      `DELETE FROM flowdock_used_action_token WHERE expires_at < now()`,
    );
    return result[1];
  }

  private async pruneNowAndThen(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.prune();
  }
}
