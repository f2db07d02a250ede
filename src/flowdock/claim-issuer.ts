/**
 * Issues the one-time claim a challenged Flowdock user takes to the linking
 * flow (a JWT signed with COOKIE_SECRET, see DESIGN.md). The Auth module
 * provides it: `{ provide: CLAIM_ISSUER, useExisting: ClaimService }`.
 */
export interface ClaimIssuer {
  issueClaim(flowdockUserId: string): Promise<string>;
}

export const CLAIM_ISSUER = Symbol('CLAIM_ISSUER');
