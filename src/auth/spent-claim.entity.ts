import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A claim whose link was completed; kept until the claim would have expired anyway. */
@Entity('spent_claim')
export class SpentClaim {
  @PrimaryColumn({ type: 'uuid' })
  jti: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'spent_at', type: 'timestamptz', default: () => 'now()' })
  spentAt: Date;
}
