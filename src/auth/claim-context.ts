/**
 * What the challenged request already established, carried (signed) by the
 * claim to the end of the linking flow: the clicking user's display name, and
 * the action they clicked, which the bridge performs once the link is stored.
 */
export interface ClaimContext {
  /** The Flowdock user's name, as the verified action request gave it. */
  name?: string;
  /** The clicked action, from the verified request's path. */
  then?: ClaimedAction;
}

/** A thread action on a GitHub item, as the action route names it. */
export interface ClaimedAction {
  owner: string;
  repo: string;
  kind: 'pulls' | 'issues';
  number: number;
  action: string;
}
