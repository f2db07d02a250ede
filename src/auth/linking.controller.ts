import { Controller, Get, Header, Query, Redirect, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { TokenCipher } from '../crypto/token-cipher';
import { HtmlPage } from '../http/html-response';
import { AccountSessionService } from './account-session.service';
import type { FlowdockUser } from '../flowdock/flowdock-api.types';
import { AuthPageException, AuthPageFilter } from './auth-page.filter';
import { escapeHtml } from '../common/html';
import { pageHtml } from '../http/html-page';
import { ClaimService } from './claim.service';
import { ClaimedActionOutcome, ClaimedActions } from './claimed-actions';
import { FlowdockSignInService } from './flowdock-sign-in.service';
import { GitHubOAuthService } from './github-oauth.service';
import { LinkedAccountService } from './linked-account.service';
import { OAuthStateService } from './oauth-state.service';
import { ClaimLinkQuery } from './dto/claim-link.dto';
import { OAuthCallbackQuery } from './dto/oauth-callback.dto';

const verifierContext = (flowdockUserId: string) => `pkce-verifier:${flowdockUserId}`;

const person = (user: { name: string; nick: string }) => `${user.name} (@${user.nick})`;

/** Signed in as someone else than the user the link was made for: name both, say what to do. */
function wrongUser(claimedId: string, claimedName: string | undefined, signedIn: FlowdockUser) {
  const claimed = claimedName
    ? `${claimedName} (Flowdock user ${claimedId})`
    : `Flowdock user ${claimedId}`;
  return new AuthPageException('wrong-flowdock-user', {
    message: `This link was made for ${claimed}, who clicked the action, but you signed in to Flowdock as ${person(signedIn)}, so nothing was linked.`,
    next: `If you are ${claimedName ?? `Flowdock user ${claimedId}`}, sign out of Flowdock, open the link again and sign in as yourself. Otherwise click the action in Flowdock yourself to get your own link.`,
  });
}

/** A provider's callback: its code, or the page for its error (access_denied: declined). */
function codeFrom(query: OAuthCallbackQuery, denied: 'flowdock-denied' | 'github-denied'): string {
  if (query.error === 'access_denied') throw new AuthPageException(denied);
  if (query.error !== undefined || query.code === undefined || query.code === '') {
    throw new AuthPageException('bad-callback');
  }
  return query.code;
}

/** The clicked action's outcome as the page shows it, with the item's link. */
function outcomeHtml(outcome: ClaimedActionOutcome): string {
  return `<p id="action-outcome" data-done="${outcome.done}"><a href="${escapeHtml(outcome.itemUrl)}">Open it on GitHub</a></p>
`;
}

/**
 * The challenge link, in one browser trip: claim -> Flowdock sign-in (which
 * must be the claimed user) -> GitHub authorization (PKCE) -> link stored ->
 * the action the user clicked (carried by the claim) performed, once.
 * Every failure ends on a page (AuthPageFilter) and stores nothing.
 */
@Controller()
@UseFilters(AuthPageFilter)
export class LinkingController {
  constructor(
    private readonly claims: ClaimService,
    private readonly states: OAuthStateService,
    private readonly flowdock: FlowdockSignInService,
    private readonly github: GitHubOAuthService,
    private readonly links: LinkedAccountService,
    private readonly sessions: AccountSessionService,
    private readonly cipher: TokenCipher,
    private readonly claimedActions: ClaimedActions,
  ) {}

  @Get('authorization')
  @Redirect()
  @Header('cache-control', 'no-store')
  async start(
    @Query() query: ClaimLinkQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ url: string }> {
    const claim = await this.claims.verify(query.claim);
    const state = await this.states.begin(reply, {
      purpose: 'link-flowdock',
      flowdockUserId: claim.flowdockUserId,
      claimJti: claim.jti,
      context: { name: claim.name, then: claim.then },
    });
    return { url: this.flowdock.authorizeUrl(state) };
  }

  /**
   * Every Flowdock sign-in ends here. The reply is this handler's own: the
   * sign-ins of other modules (the delivery log) answer on it themselves.
   */
  @Get('auth/flowdock/callback')
  async flowdockCallback(
    @Query() query: OAuthCallbackQuery,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    const step = await this.states.consume(request, reply, query.state, [
      'link-flowdock',
      'account',
      ...this.flowdock.completedPurposes(),
    ]);
    const completion = this.flowdock.completion(step.purpose);
    if (completion && query.error === 'access_denied') {
      throw new AuthPageException('flowdock-denied', {
        message: 'You declined the request on Flowdock, so you are not signed in.',
        next: 'To sign in, open the page again and choose Approve on Flowdock.',
      });
    }
    const code = codeFrom(query, 'flowdock-denied');
    if (completion) return completion({ ...(await this.flowdock.signIn(code)), step }, reply);
    const user = await this.flowdock.userFromCode(code);
    if (step.purpose === 'account') {
      await this.sessions.start(reply, user.id);
      return reply.header('cache-control', 'no-store').redirect('/account', 302);
    }
    if (user.id !== step.flowdockUserId) {
      throw wrongUser(step.flowdockUserId!, step.context?.name, user);
    }
    if (await this.claims.isSpent(step.claimJti!)) throw new AuthPageException('claim-spent');

    const verifier = randomBytes(32).toString('base64url');
    const state = await this.states.begin(reply, {
      purpose: 'link-github',
      flowdockUserId: user.id,
      claimJti: step.claimJti!,
      codeVerifier: this.cipher.encrypt(verifier, verifierContext(user.id)),
      context: { ...step.context, signedIn: { name: user.name, nick: user.nick } },
    });
    return reply
      .header('cache-control', 'no-store')
      .redirect(this.github.authorizeUrl(state, verifier), 302);
  }

  @Get('auth/github/callback')
  @HtmlPage({ forms: true })
  async githubCallback(
    @Query() query: OAuthCallbackQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const step = await this.states.consume(request, reply, query.state, ['link-github']);
    const code = codeFrom(query, 'github-denied');
    const flowdockUserId = step.flowdockUserId!;
    const verifier = this.cipher.decrypt(step.codeVerifier!, verifierContext(flowdockUserId));
    const tokens = await this.github.exchangeCode(code, verifier);
    const githubUser = await this.github.getUser(tokens.accessToken);
    const outcome = await this.links.link({
      flowdockUserId,
      claimJti: step.claimJti!,
      github: githubUser,
      tokens,
    });
    if (outcome === 'claim-spent') throw new AuthPageException('claim-spent');
    // The claim is spent with the link: the action it carries is performed once, here.
    const then = step.context?.then;
    const done = then ? await this.claimedActions.perform(flowdockUserId, then) : undefined;
    // What waited for the link (replies written in Flowdock threads), done once, here.
    const alsoDone = (await this.claimedActions.linked(flowdockUserId)).join(' ');
    const signedIn = step.context?.signedIn;
    const who = signedIn ? person(signedIn) : `Flowdock user ${flowdockUserId}`;
    return pageHtml(reply, {
      status: 200,
      title: done?.done ? 'Linked, and done' : 'Your accounts are linked',
      message: `${who} is now linked to the GitHub account @${githubUser.login}. Actions you click in Flowdock will be done on GitHub as @${githubUser.login}.`,
      next:
        (alsoDone ? `${alsoDone} ` : '') +
        (done
          ? done.done
            ? `${done.message} You can close this page and go back to Flowdock.`
            : `${done.message} Go back to Flowdock to try again: your next click works without linking.`
          : alsoDone
            ? 'You can close this page and go back to Flowdock.'
            : 'Go back to Flowdock and click the action again. You can close this page.'),
      extraHtml:
        (done ? outcomeHtml(done) : '') +
        `<p><a href="/account">Manage or unlink</a> · GitHub user id <code id="github-user-id">${escapeHtml(String(githubUser.id))}</code></p>`,
    });
  }
}
