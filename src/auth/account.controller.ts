import { Body, Controller, Get, HttpCode, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app.config';
import { HtmlPage } from '../http/html-response';
import { AccountSessionService } from './account-session.service';
import { AuthPageException, AuthPageFilter } from './auth-page.filter';
import { escapeHtml } from '../common/html';
import { pageHtml, sendPage } from '../http/html-page';
import { UnlinkForm } from './dto/unlink-form.dto';
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
  /** What sign-in lacks: client ids and secrets that were generated, not configured. */
  private readonly unconfigured: { flowdock: string[]; github: string[]; apiUrl: string };

  constructor(
    private readonly sessions: AccountSessionService,
    private readonly states: OAuthStateService,
    private readonly flowdock: FlowdockSignInService,
    private readonly links: LinkedAccountService,
    config: ConfigService<AppConfig, true>,
  ) {
    const generated: string[] = config.get('generated', { infer: true });
    this.unconfigured = {
      flowdock: generated.filter((name) => name.startsWith('FLOWDOCK_')),
      github: generated.filter((name) => name.startsWith('GITHUB_CLIENT')),
      apiUrl: config.get('flowdock', { infer: true }).apiUrl,
    };
  }

  /** A page, or the redirect to sign in (with its state cookie): the reply is answered here. */
  @Get()
  async show(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    if (this.unconfigured.flowdock.length > 0) return this.notConfigured(reply);
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

  /**
   * Without its Flowdock application the bridge has only generated client
   * credentials, which Flowdock (or its simulator) refuses: say what to set
   * instead of sending the browser to a sign-in that cannot work.
   */
  private notConfigured(reply: FastifyReply) {
    const { flowdock, github, apiUrl } = this.unconfigured;
    const list = (names: string[]) => {
      const sorted = [...names].sort();
      return sorted.length > 1
        ? `${sorted.slice(0, -1).join(', ')} and ${sorted[sorted.length - 1]}`
        : sorted.join('');
    };
    const also = github.length > 0 ? ` Linking a GitHub account also needs ${list(github)}.` : '';
    return sendPage(reply, {
      status: 503,
      title: 'Flowdock sign-in is not set up',
      message:
        `The bridge has no Flowdock application configured: ${list(flowdock)} ` +
        `${flowdock.length > 1 ? 'are' : 'is'} not set, so ${apiUrl} would refuse the sign-in.${also}`,
      next:
        `Set ${list([...flowdock, ...github])} to your OAuth applications' values ` +
        '(in the environment or in .env; FLOWDOCK_API_URL for a Flowdock other than api.flowdock.com), ' +
        'then restart the bridge. To try the bridge without Flowdock, run npm run demo.',
    });
  }

  @Post('unlink')
  @HttpCode(200)
  @HtmlPage({ forms: true })
  async unlink(
    @Req() request: FastifyRequest,
    @Body() form: UnlinkForm,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const session = await this.sessions.read(request);
    if (!session || !this.sessions.csrfMatches(session, form.csrf)) {
      throw new AuthPageException('account-session');
    }
    const { removed, revoked } = await this.links.unlinkAndRevoke(session.flowdockUserId);
    this.sessions.end(reply);
    const atGitHub =
      revoked === undefined
        ? ''
        : typeof revoked === 'object'
          ? ` GitHub did not confirm revoking the bridge's authorization (${revoked.failed}): revoke it yourself in your GitHub settings, under Applications.`
          : ' GitHub has revoked the authorization you gave the bridge.';
    return pageHtml(reply, {
      status: 200,
      title: removed ? 'Unlinked' : 'Nothing to unlink',
      message: removed
        ? `The GitHub account is no longer linked to Flowdock user ${session.flowdockUserId}, and its stored tokens are deleted.${atGitHub}`
        : `Flowdock user ${session.flowdockUserId} had no linked GitHub account.`,
      next: 'To link again, click an action in Flowdock.',
    });
  }
}
