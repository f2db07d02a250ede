import { Controller, HttpCode, Module, Post } from '@nestjs/common';
import { signActionRequest } from '../sandbox/flowdock/flowdock-action-signer';
import { AuthModule } from '../src/auth/auth.module';
import { LinkedAccountService } from '../src/auth/linked-account.service';
import { SignedFlowdockAction } from '../src/actions/signed-flowdock-action.decorator';
import type { FlowdockActionRequest } from '../src/actions/flowdock-action.types';
import { FlowdockChallenges } from '../src/auth/flowdock-challenge';
import { FlowdockClick } from '../src/actions/flowdock-click.decorator';
import { ActionsModule } from '../src/actions/actions.module';
import { startTestApp, TestApp } from './support/test-app';
import { AuthWorld, PUBLIC_URL, startAuthWorld } from './support/auth-world';

/** An action endpoint as ActionsController builds them: act as the linked user, or challenge. */
@Controller('test-auth-actions')
class WhoAmIController {
  constructor(
    private readonly links: LinkedAccountService,
    private readonly challenges: FlowdockChallenges,
  ) {}

  @Post(':n')
  @HttpCode(200)
  @SignedFlowdockAction()
  async act(@FlowdockClick() user: FlowdockActionRequest) {
    const octokit = await this.links.octokitFor(user.userId);
    if (!octokit) throw await this.challenges.challenge(user.userId);
    const { data } = await octokit.rest.users.getAuthenticated();
    return { login: data.login };
  }
}

@Module({ imports: [AuthModule, ActionsModule], controllers: [WhoAmIController] })
class WhoAmIModule {}

describe('from a 401 challenge to an action done as the linked GitHub user', () => {
  let w: AuthWorld;
  let t: TestApp;
  let n = 0;
  beforeAll(async () => {
    w = await startAuthWorld();
    // The same bridge configuration and database, with the action endpoint mounted.
    t = await startTestApp(w.env, [WhoAmIModule]);
  });
  afterAll(async () => {
    try {
      await w?.expectNoLeaks(t.logs);
    } finally {
      await t?.app.close();
      await w?.stop();
    }
  });

  const act = (userId: string, token?: string) => {
    const path = `/test-auth-actions/${++n}`;
    const signed = signActionRequest(
      { name: 'Assign to me', urlTemplate: PUBLIC_URL + path },
      { clientSecret: w.env.FLOWDOCK_CLIENT_SECRET, userId },
    );
    const headers = token ? { ...signed.headers, 'flowdock-token': token } : signed.headers;
    return t.app.inject({ method: 'POST', url: path, headers, payload: signed.payload });
  };

  it('challenge -> one browser trip -> the next signed action acts as the linked user', async () => {
    const challenged = await act(w.fd('alice'));
    expect(challenged.statusCode).toBe(401);
    expect(challenged.json()).toEqual({ error: 'Authentication required' });
    const header = String(challenged.headers['www-authenticate']);
    const match = /^Flowdock-Token url=(\S+)$/.exec(header);
    expect(match).not.toBeNull();
    const challengeUrl = match![1];
    expect(challengeUrl.startsWith(`${PUBLIC_URL}/authorization?claim=`)).toBe(true);

    const browser = w.browser();
    const start = await browser.get(challengeUrl);
    const consent = await browser.get(start.location!);
    const back = await browser.submitConsent(consent, {
      user_id: w.fd('alice'),
      decision: 'approve',
    });
    const toGitHub = await browser.get(back.location!);
    const ghConsent = await browser.get(toGitHub.location!);
    const ghBack = await browser.submitConsent(ghConsent, {
      user_id: String(w.ghUsers.monalisa.id),
      decision: 'approve',
    });
    expect((await browser.get(ghBack.location!)).status).toBe(200);

    const done = await act(w.fd('alice'));
    expect(done.statusCode).toBe(200);
    expect(done.json()).toEqual({ login: w.ghUsers.monalisa.login });
  });

  it('a claim presented as FLOWDOCK-TOKEN is refused: 401 without a challenge', async () => {
    const claim = await w.claims.issueClaim(w.fd('bob'));
    const res = await act(w.fd('bob'), claim);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('after GitHub revokes the token, the next action gets a fresh challenge, not an error', async () => {
    const { page } = await w.link(w.browser(), w.fd('carol'), w.fd('carol'), w.ghUsers.hubot.id);
    expect(page.status).toBe(200);
    expect((await act(w.fd('carol'))).json()).toEqual({ login: w.ghUsers.hubot.login });
    w.github.state.revokeUser(w.ghUsers.hubot.id);
    // This action hits GitHub's 401 (the link is removed); the next one is challenged.
    const failed = await act(w.fd('carol'));
    expect(failed.statusCode).toBeGreaterThanOrEqual(400);
    const next = await act(w.fd('carol'));
    expect(next.statusCode).toBe(401);
    expect(String(next.headers['www-authenticate'])).toContain('/authorization?claim=');
  });
});
