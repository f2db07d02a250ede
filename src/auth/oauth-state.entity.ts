import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { ClaimContext } from './claim-context';

/**
 * Carried by a linking flow's steps: see ClaimContext; `signedIn` is the
 * Flowdock user of the GitHub step. A sign-in to a page carries the page's
 * path in `returnTo` (checked by that page's module, never an open redirect).
 */
export interface LinkingContext extends ClaimContext {
  signedIn?: { name: string; nick: string };
  returnTo?: string;
}

export type OAuthPurpose =
  | 'link-flowdock'
  | 'link-github'
  | 'account'
  // The delivery log pages: Flowdock sign-in, then back to the page asked for.
  | 'deliveries'
  // The integration's Setup URI: the Flowdock consent, then the repositories form.
  | 'flowdock-setup'
  | 'flowdock-setup-form';

/**
 * One step of a sign-in in progress, keyed by the SHA-256 of its OAuth state
 * (the state itself lives only in the browser's cookie and the provider's
 * redirect). Deleted when its callback arrives, so each state works once.
 */
@Entity('oauth_state')
export class OAuthState {
  @PrimaryColumn({ name: 'state_hash', type: 'text' })
  stateHash: string;

  @Column({ type: 'text' })
  purpose: OAuthPurpose;

  /** The claimed Flowdock user (linking), or the signed-in one (GitHub step). */
  @Column({ name: 'flowdock_user_id', type: 'text', nullable: true })
  flowdockUserId: string | null;

  @Column({ name: 'claim_jti', type: 'uuid', nullable: true })
  claimJti: string | null;

  /** PKCE verifier of the GitHub step, encrypted with TokenCipher. */
  @Column({ name: 'code_verifier', type: 'text', nullable: true })
  codeVerifier: string | null;

  /** What the linking flow carries from its claim to its end (linking only). */
  @Column({ type: 'jsonb', nullable: true })
  context: LinkingContext | null;

  /** The Flowdock flow being set up (the setup flow only). */
  @Column({ name: 'flow_id', type: 'text', nullable: true })
  flowId: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
