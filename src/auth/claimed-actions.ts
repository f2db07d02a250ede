import { Injectable } from '@nestjs/common';
import type { ClaimedAction } from '../flowdock/claim-issuer';

/** What became of a claimed action, for the page that ends the linking flow. */
export interface ClaimedActionOutcome {
  done: boolean;
  /** One sentence: what happened, or why it could not happen. */
  message: string;
  /** The item on GitHub. */
  itemUrl: string;
}

export type ClaimedActionPerformer = (
  flowdockUserId: string,
  action: ClaimedAction,
) => Promise<ClaimedActionOutcome>;

/**
 * The end of a linking flow performs the action the user clicked (the claim
 * carries it). The module that performs thread actions plugs in here, so the
 * Auth module does not depend on it.
 */
@Injectable()
export class ClaimedActions {
  private performer: ClaimedActionPerformer | undefined;

  performWith(performer: ClaimedActionPerformer): void {
    this.performer = performer;
  }

  /** The outcome, or undefined when no module performs actions (the linking flow alone). */
  async perform(
    flowdockUserId: string,
    action: ClaimedAction,
  ): Promise<ClaimedActionOutcome | undefined> {
    return this.performer?.(flowdockUserId, action);
  }
}
