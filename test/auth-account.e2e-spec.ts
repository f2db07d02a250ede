import { TestBrowser } from './support/auth-browser';
import { AuthWorld, PUBLIC_URL, useAuthWorld } from './support/auth-world';

describe('GET /account: sign in with Flowdock, see the link, unlink', () => {
  let w: AuthWorld;
  useAuthWorld((world) => (w = world));

  /** Signs in on /account as a Flowdock user; returns the account page. */
  async function signIn(browser: TestBrowser, as: string) {
    const start = await browser.get(`${PUBLIC_URL}/account`);
    expect(start.status).toBe(302);
    expect(start.location).toContain(`${w.flowdock.url}/oauth/authorize`);
    const consent = await browser.get(start.location!);
    const back = await browser.submitConsent(consent, { user_id: as, decision: 'approve' });
    const toAccount = await browser.get(back.location!);
    expect(toAccount.status).toBe(302);
    expect(toAccount.location).toBe(`${PUBLIC_URL}/account`);
    expect(String(toAccount.headers['set-cookie'])).toMatch(/bridge_account=.*HttpOnly/);
    return browser.get(toAccount.location!);
  }

  const csrfOf = (body: string) => /name="csrf" value="([^"]+)"/.exec(body)?.[1];

  /** The GitHub tokens the simulator issued to a user that still work. */
  const liveTokens = (githubUserId: number) =>
    [...w.github.state.tokens.values()].filter((t) => t.userId === githubUserId && !t.revoked);

  it('shows the link and unlinks it with the form; GitHub revokes the authorization', async () => {
    await w.link(w.browser(), w.fd('alice'), w.fd('alice'), w.ghUsers.octocat.id);
    expect(liveTokens(w.ghUsers.octocat.id)).toHaveLength(1);
    const browser = w.browser();
    const page = await signIn(browser, w.fd('alice'));
    expect(page.status).toBe(200);
    expect(page.body).toContain(`@${w.ghUsers.octocat.login}`);
    const csrf = csrfOf(page.body);
    expect(csrf).toBeDefined();

    const done = await browser.post(`${PUBLIC_URL}/account/unlink`, { csrf: csrf! });
    expect(done.status).toBe(200);
    expect(done.body).toContain('stored tokens are deleted');
    expect(done.body).toContain('GitHub has revoked the authorization you gave the bridge.');
    await expect(w.links.findLink(w.fd('alice'))).resolves.toBeNull();
    expect(liveTokens(w.ghUsers.octocat.id)).toEqual([]);
  });

  it('when GitHub does not revoke the authorization, the link is removed and the page says so', async () => {
    await w.link(w.browser(), w.fd('carol'), w.fd('carol'), w.ghUsers.monalisa.id);
    const browser = w.browser();
    const page = await signIn(browser, w.fd('carol'));
    const deletions = w.githubOAuth.grantDeletions;
    w.githubOAuth.grantDeletionFailure = 500;
    const done = await browser
      .post(`${PUBLIC_URL}/account/unlink`, { csrf: csrfOf(page.body)! })
      .finally(() => (w.githubOAuth.grantDeletionFailure = undefined));
    expect(w.githubOAuth.grantDeletions).toBe(deletions + 1);
    expect(done.status).toBe(200);
    expect(done.body).toContain('GitHub did not confirm revoking');
    expect(done.body).toContain('revoke it yourself in your GitHub settings');
    await expect(w.links.findLink(w.fd('carol'))).resolves.toBeNull();
    expect(liveTokens(w.ghUsers.monalisa.id)).toHaveLength(1);
  });

  it('an unlink without the CSRF token, or from another browser, is refused (403) and unlinks nothing', async () => {
    await w.link(w.browser(), w.fd('bob'), w.fd('bob'), w.ghUsers.hubot.id);
    const browser = w.browser();
    const page = await signIn(browser, w.fd('bob'));
    const csrf = csrfOf(page.body)!;

    const noToken = await browser.post(`${PUBLIC_URL}/account/unlink`, {});
    expect(noToken.status).toBe(403);
    const wrongToken = await browser.post(`${PUBLIC_URL}/account/unlink`, { csrf: `${csrf}x` });
    expect(wrongToken.status).toBe(403);
    // A cross-site form post arrives without the SameSite=Lax session cookie.
    const otherBrowser = await w.browser().post(`${PUBLIC_URL}/account/unlink`, { csrf });
    expect(otherBrowser.status).toBe(403);
    expect(otherBrowser.body).toContain('session has ended');
    await expect(w.links.findLink(w.fd('bob'))).resolves.not.toBeNull();
  });

  it('a user with no link is told how to link', async () => {
    const page = await signIn(w.browser(), w.fd('carol'));
    expect(page.status).toBe(200);
    expect(page.body).toContain('No GitHub account linked');
    expect(page.body).not.toContain('<form');
  });

  it('the account sign-in cannot be used to complete a link', async () => {
    const browser = w.browser();
    const start = await browser.get(`${PUBLIC_URL}/account`);
    const consent = await browser.get(start.location!);
    const back = await browser.submitConsent(consent, {
      user_id: w.fd('carol'),
      decision: 'approve',
    });
    // Replaying the account sign-in's state at the GitHub callback fails.
    const state = new URL(back.location!).searchParams.get('state')!;
    const page = await browser.get(`${PUBLIC_URL}/auth/github/callback?code=x&state=${state}`);
    expect(page.status).toBe(400);
    await expect(w.links.findLink(w.fd('carol'))).resolves.toBeNull();
  });
});
