import { Injectable, Logger } from '@nestjs/common';
import type { ClaimedAction } from './claim-context';

/** What became of a claimed action, for the page that ends the linking flow. */
export interface ClaimedActionOutcome {
  done: boolean;
  /** One sentence: what happened, or why it could not happen. */
  message: string;
  /** The item on GitHub. */
  itemUrl: string;
}

/** Runs when a link is stored; says in one or two sentences what it did for the person, if anything. */
type LinkedListener = (flowdockUserId: string) => Promise<string | undefined>;

type ClaimedActionPerformer = (
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
  private readonly listeners: LinkedListener[] = [];
  private readonly logger = new Logger('ClaimedActions');

  performWith(performer: ClaimedActionPerformer): void {
    this.performer = performer;
  }

  /** Work waiting for a person's link (replies written before it) plugs in here. */
  onLinked(listener: LinkedListener): void {
    this.listeners.push(listener);
  }

  /** Runs the listeners once a link is stored; what they did, for the page. */
  async linked(flowdockUserId: string): Promise<string[]> {
    const said: string[] = [];
    for (const listener of this.listeners) {
      try {
        const text = await listener(flowdockUserId);
        if (text) said.push(text);
      } catch (error) {
        // The link is stored: its page still says so; the work waits for another occasion.
        this.logger.warn(
          `Work waiting for the link of Flowdock user ${flowdockUserId} failed: ${(error as Error).message}`,
        );
      }
    }
    return said;
  }

  /** The outcome, or undefined when no module performs actions (the linking flow alone). */
  async perform(
    flowdockUserId: string,
    action: ClaimedAction,
  ): Promise<ClaimedActionOutcome | undefined> {
    return this.performer?.(flowdockUserId, action);
  }
}
