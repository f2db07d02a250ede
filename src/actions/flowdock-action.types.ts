import type { GitHubActor } from '../auth/linked-account.service';

/** The Flowdock user who clicked, as Flowdock describes them in the request body. */
export interface FlowdockAgent {
  '@type'?: string;
  name?: string;
  image?: string;
}

/** A verified UpdateAction request, as handlers receive it through @FlowdockClick(). */
export interface FlowdockActionRequest {
  /** The Flowdock user id (the token's `sub`), as a string. */
  userId: string;
  action: {
    /** The action's name as posted in the thread ("Assign to me"). */
    name: string;
    agent?: FlowdockAgent;
    /** The signed target URL (PUBLIC_URL + the request path). */
    urlTemplate: string;
  };
  /**
   * The GitHub account the user acts as (null: not linked, or the link no
   * longer works), looked up while the guard spent the token: awaited by the
   * handler, so that its failures count as the action's.
   */
  actingAs: Promise<GitHubActor | null>;
}
