import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * A Flowdock user's link to a GitHub account. Tokens are TokenCipher
 * ciphertexts bound to the row (see tokenContext), never plaintext.
 */
@Entity('linked_account')
export class LinkedAccount {
  @PrimaryColumn({ name: 'flowdock_user_id', type: 'text' })
  flowdockUserId: string;

  /** GitHub's durable user id (logins can be renamed). */
  @Column({ name: 'github_user_id', type: 'bigint' })
  githubUserId: string;

  @Column({ name: 'github_login', type: 'text' })
  githubLogin: string;

  @Column({ name: 'access_token', type: 'text' })
  accessToken: string;

  @Column({ name: 'access_token_expires_at', type: 'timestamptz', nullable: true })
  accessTokenExpiresAt: Date | null;

  @Column({ name: 'refresh_token', type: 'text', nullable: true })
  refreshToken: string | null;

  @Column({ name: 'refresh_token_expires_at', type: 'timestamptz', nullable: true })
  refreshTokenExpiresAt: Date | null;

  @Column({ type: 'text', default: '' })
  scopes: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** Encryption context of a token column: a ciphertext copied to another row or column does not decrypt. */
export const tokenContext = (flowdockUserId: string, column: 'access' | 'refresh') =>
  `linked-account:${flowdockUserId}:${column}`;
