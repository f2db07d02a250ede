import { Body, Controller, Get, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AccountSessionService } from './account-session.service';
import { AuthPageException, AuthPageFilter } from './auth-page.filter';
import { escapeHtml, sendPage } from './auth-pages';
import { FlowdockSignInService } from './flowdock-sign-in.service';
import { LinkedAccountService } from './linked-account.service';
import { OAuthStateService } from './oauth-state.service';

/**
 * GET /account: sign in with Flowdock, see your link, unlink it. The unlink
 * form carries the session's CSRF token (and the session cookie is
 * SameSite=Lax), so another site cannot unlink you.
 */
@Controller('account')
@UseFilters(AuthPageFilter)
export class AccountController {
  constructor(
    private readonly sessions: AccountSessionService,
    private readonly states: OAuthStateService,
    private readonly flowdock: FlowdockSignInService,
    private readonly links: LinkedAccountService,
  ) {}

  @Get()
  async show(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const session = await this.sessions.read(request);
    if (!session) {
      const state = await this.states.begin(reply, { purpose: 'account' });
      return reply
        .header('cache-control', 'no-store')
        .redirect(this.flowdock.authorizeUrl(state), 302);
    }
    const link = await this.links.findLink(session.flowdockUserId);
    const who = `Flowdock user ${session.flowdockUserId}`;
    if (!link) {
      return sendPage(reply, {
        status: 200,
        title: 'No GitHub account linked',
        message: `${who} has no GitHub account linked to the bridge.`,
        next: 'Click an action (such as "Assign to me") in Flowdock to link one.',
      });
    }
    return sendPage(reply, {
      status: 200,
      title: 'Your linked GitHub account',
      message: `${who} is linked to the GitHub account @${link.githubLogin}.`,
      next: 'Unlinking deletes the stored GitHub tokens; the next action you click will ask you to link again.',
      extraHtml: `<form method="post" action="/account/unlink">
<input type="hidden" name="csrf" value="${escapeHtml(session.csrf)}">
<button type="submit">Unlink @${escapeHtml(link.githubLogin)}</button>
</form>`,
    });
  }

  @Post('unlink')
  async unlink(@Req() request: FastifyRequest, @Body() body: unknown, @Res() reply: FastifyReply) {
    const session = await this.sessions.read(request);
    const csrf = (body as Record<string, unknown> | undefined)?.csrf;
    if (!session || !this.sessions.csrfMatches(session, csrf)) {
      throw new AuthPageException('account-session');
    }
    const removed = await this.links.unlink(session.flowdockUserId, 'unlinked on the account page');
    this.sessions.end(reply);
    return sendPage(reply, {
      status: 200,
      title: removed ? 'Unlinked' : 'Nothing to unlink',
      message: removed
        ? `The GitHub account is no longer linked to Flowdock user ${session.flowdockUserId}, and its stored tokens are deleted.`
        : `Flowdock user ${session.flowdockUserId} had no linked GitHub account.`,
      next: 'To link again, click an action in Flowdock.',
    });
  }
}
