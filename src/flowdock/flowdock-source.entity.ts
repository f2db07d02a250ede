import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A flow the bridge posts to, through a Flowdock source's flow token. */
@Entity('flowdock_source')
export class FlowdockSourceEntity {
  @PrimaryColumn('uuid')
  id: string;

  /** TokenCipher ciphertext, bound to the row id. */
  @Column({ name: 'flow_token_encrypted', type: 'text' })
  flowTokenEncrypted: string;

  /** SHA-256 (hex) of the flow token: finds a source by token without decrypting. */
  @Column({ name: 'flow_token_hash', type: 'text', unique: true })
  flowTokenHash: string;

  /** The flow ("organization/flow" or Flowdock's flow id), when known. */
  @Column({ type: 'text', nullable: true })
  flow: string | null;

  @Column({ type: 'text', nullable: true })
  name: string | null;

  /** Set when Flowdock answered 410 Gone: nothing more is posted to this source. */
  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt: Date | null;

  @Column({ name: 'disabled_reason', type: 'text', nullable: true })
  disabledReason: string | null;

  /** Flowdock asked us to wait (429 Retry-After): nothing is posted with this token before then. */
  @Column({ name: 'paused_until', type: 'timestamptz', nullable: true })
  pausedUntil: Date | null;

  /**
   * A token that can read the source's flow through the streaming API (an
   * OAuth access token of a flow member), TokenCipher ciphertext bound to the
   * row; null: replies in this source's threads are not heard through it.
   */
  @Column({ name: 'stream_token_encrypted', type: 'text', nullable: true })
  streamTokenEncrypted: string | null;

  /** The refresh token of that grant, when Flowdock gave one (offline_access). */
  @Column({ name: 'stream_refresh_token_encrypted', type: 'text', nullable: true })
  streamRefreshTokenEncrypted: string | null;

  @Column({ name: 'stream_token_expires_at', type: 'timestamptz', nullable: true })
  streamTokenExpiresAt: Date | null;

  /** Set when the stream refused the token (401/403): not used again until it is replaced. */
  @Column({ name: 'stream_refused_at', type: 'timestamptz', nullable: true })
  streamRefusedAt: Date | null;

  @Column({ name: 'stream_refused_reason', type: 'text', nullable: true })
  streamRefusedReason: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
