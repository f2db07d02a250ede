import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { tokenContext as linkContext } from '../auth/linked-account.entity';
import { streamContext, tokenContext as sourceContext } from '../flowdock/flowdock-source.service';
import { TokenCipher, TokenDecryptionError } from '../crypto/token-cipher';

interface RotationReport {
  /** Stored tokens re-encrypted with the current key. */
  reencrypted: number;
  /** Stored tokens already under the current key. */
  current: number;
  /** Stored tokens under a key that is not configured (or damaged): left as they are. */
  unreadable: number;
}

/** One encrypted column of one table: how to find its rows and what each ciphertext is bound to. */
interface Column {
  table: 'linked_account' | 'flowdock_source';
  key: 'flowdock_user_id' | 'id';
  column:
    | 'access_token'
    | 'refresh_token'
    | 'flow_token_encrypted'
    | 'stream_token_encrypted'
    | 'stream_refresh_token_encrypted';
  context: (key: string) => string;
}

/** An access token and its refresh token, each bound to its row and kind. */
const tokenPair = (
  table: Column['table'],
  key: Column['key'],
  [access, refresh]: [Column['column'], Column['column']],
  context: (key: string, kind: 'access' | 'refresh') => string,
): Column[] => [
  { table, key, column: access, context: (id) => context(id, 'access') },
  { table, key, column: refresh, context: (id) => context(id, 'refresh') },
];

const COLUMNS: Column[] = [
  ...tokenPair(
    'linked_account',
    'flowdock_user_id',
    ['access_token', 'refresh_token'],
    linkContext,
  ),
  { table: 'flowdock_source', key: 'id', column: 'flow_token_encrypted', context: sourceContext },
  ...tokenPair(
    'flowdock_source',
    'id',
    ['stream_token_encrypted', 'stream_refresh_token_encrypted'],
    streamContext,
  ),
];

/**
 * `tokens rotate`: re-encrypts every stored token (GitHub access and refresh
 * tokens, Flowdock flow tokens and stream grants) under the current TOKEN_ENCRYPTION_KEY, so
 * the old keys can leave TOKEN_DECRYPTION_KEYS. Each row is updated only if
 * it still holds the ciphertext that was read, so a running bridge that
 * changes a token meanwhile wins.
 */
@Injectable()
export class TokenRotation {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: TokenCipher,
  ) {}

  async rotate(): Promise<RotationReport> {
    const report: RotationReport = { reencrypted: 0, current: 0, unreadable: 0 };
    for (const { table, key, column, context } of COLUMNS) {
      const rows: { key: string; value: string }[] = await this.dataSource.query(
        `SELECT "${key}" AS key, "${column}" AS value FROM "${table}" WHERE "${column}" IS NOT NULL`,
      );
      for (const row of rows) {
        if (!this.cipher.needsRotation(row.value)) {
          report.current++;
          continue;
        }
        let plaintext: string;
        try {
          plaintext = this.cipher.decrypt(row.value, context(row.key));
        } catch (error) {
          if (!(error instanceof TokenDecryptionError)) throw error;
          report.unreadable++;
          continue;
        }
        await this.dataSource.query(
          `UPDATE "${table}" SET "${column}" = $1 WHERE "${key}" = $2 AND "${column}" = $3`,
          [this.cipher.encrypt(plaintext, context(row.key)), row.key, row.value],
        );
        report.reencrypted++;
      }
    }
    return report;
  }
}
