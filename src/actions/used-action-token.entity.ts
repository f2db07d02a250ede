import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A FLOWDOCK-TOKEN that was accepted once; kept until it expires so a replay is refused. */
@Entity('flowdock_used_action_token')
export class UsedActionToken {
  /** SHA-256 (hex) of the token: the token itself is not stored. */
  @PrimaryColumn({ name: 'token_hash', type: 'text' })
  tokenHash: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
