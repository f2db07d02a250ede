import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CompletedSignIn, FlowdockSignInService } from '../auth/flowdock-sign-in.service';
import { OAuthStateService } from '../auth/oauth-state.service';
import { FlowdockClient } from '../flowdock/flowdock-client';
import { FlowdockRefusedError } from '../flowdock/flowdock-errors';
import { DeliveriesSessionService } from './deliveries-session.service';
import { DeliveryLogService } from './delivery-log.service';

/** `profile` to learn who signed in, `flow` to list their flows (GET /flows). */
const DELIVERIES_SCOPES = ['profile', 'flow'];

/**
 * The only paths a sign-in returns to: the delivery log of a repository or of
 * an item. Built by the controller from validated parameters and checked
 * again here, so the state's context can never send the browser elsewhere.
 */
const RETURN_PATH =
  /^\/deliveries(?:\/[A-Za-z0-9_-]+\/[A-Za-z0-9._-]+\/[0-9]+|\?repo=[A-Za-z0-9_-]+(?:\/|%2F)[A-Za-z0-9._-]+)?$/;

export function safeReturnPath(path: unknown): string {
  return typeof path === 'string' && RETURN_PATH.test(path) ? path : '/deliveries';
}

export const itemPath = (owner: string, repo: string, number: number) =>
  `/deliveries/${owner}/${repo}/${number}`;

/** `owner/repo` has been checked against OWNER and REPO: nothing in it needs encoding. */
export const repositoryPath = (repository: string) => `/deliveries?repo=${repository}`;

/** A flow of the bridge (as a source stores it) is one of the user's when its id or path matches. */
function isMember(known: string, flows: { id: string; path: string }[]): boolean {
  return flows.some((flow) => flow.id === known || flow.path.toLowerCase() === known.toLowerCase());
}

/**
 * Flowdock sign-in for the delivery log: the state remembers the page, the
 * shared callback (/auth/flowdock/callback) hands the sign-in here, the
 * user's flows are read once with their access token (then dropped), and the
 * browser goes back to the page with a session.
 */
@Injectable()
export class DeliveriesSignIn implements OnModuleInit {
  private readonly logger = new Logger('DeliveriesSignIn');

  constructor(
    private readonly signIns: FlowdockSignInService,
    private readonly states: OAuthStateService,
    private readonly client: FlowdockClient,
    private readonly sessions: DeliveriesSessionService,
    private readonly log: DeliveryLogService,
  ) {}

  onModuleInit(): void {
    this.signIns.completeWith('deliveries', (signIn, reply) => this.complete(signIn, reply));
  }

  async begin(reply: FastifyReply, returnTo: string): Promise<FastifyReply> {
    const state = await this.states.begin(reply, {
      purpose: 'deliveries',
      context: { returnTo: safeReturnPath(returnTo) },
    });
    return reply
      .header('cache-control', 'no-store')
      .redirect(this.signIns.authorizeUrl(state, DELIVERIES_SCOPES), 302);
  }

  private async complete(
    { user, accessToken, step }: CompletedSignIn,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const [flows, known] = await Promise.all([
      this.client.listFlows(accessToken).catch((error: unknown) => {
        // Refused (a scope the application may not grant): admins still get in, members get a 403.
        if (!(error instanceof FlowdockRefusedError)) throw error;
        this.logger.warn(`Flowdock refused the flows of user ${user.id}: ${error.message}`);
        return [];
      }),
      this.log.knownFlows(),
    ]);
    await this.sessions.start(reply, {
      flowdockUserId: user.id,
      name: user.name,
      nick: user.nick,
      flows: known.filter((flow) => isMember(flow, flows)),
    });
    return reply
      .header('cache-control', 'no-store')
      .redirect(safeReturnPath(step.context?.returnTo), 302);
  }
}
