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

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
