import { startTestApp } from './support/test-app';
import { AuthWorld, PUBLIC_URL, useAuthWorld } from './support/auth-world';

describe('linking from a challenge URL', () => {
  let w: AuthWorld;
  useAuthWorld((world) => (w = world));

  it('reaches "linked" in one browser trip, and octokitFor then acts as the GitHub user', async () => {
    const browser = w.browser();
    const claim = await w.claims.issueClaim(w.fd('alice'));
    const start = await browser.get(`${PUBLIC_URL}/authorization?claim=${claim}`);
    expect(start.status).toBe(302);
    const authorize = new URL(start.location!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${w.flowdock.url}/oauth/authorize`);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/auth/flowdock/callback`);
    expect(authorize.searchParams.get('client_id')).toBe(w.env.FLOWDOCK_CLIENT_ID);
    const cookie = String(start.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/); // PUBLIC_URL is http here
    // The cookie holds the state, signed.
    const state = authorize.searchParams.get('state')!;
    expect(cookie).toContain(`${state}.`);

    const fdConsent = await browser.get(start.location!);
    const fdBack = await browser.submitConsent(fdConsent, {
      user_id: w.fd('alice'),
      decision: 'approve',
    });
    const toGitHub = await browser.get(fdBack.location!);
    expect(toGitHub.status).toBe(302);
    const gh = new URL(toGitHub.location!);
    expect(`${gh.origin}${gh.pathname}`).toBe(`${w.github.url}/login/oauth/authorize`);
    expect(gh.searchParams.get('code_challenge_method')).toBe('S256');
    expect(gh.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(gh.searchParams.get('scope')).toBe('repo');
    expect(gh.searchParams.get('state')).not.toBe(state);

    const ghConsent = await browser.get(toGitHub.location!);
    const ghBack = await browser.submitConsent(ghConsent, {
      user_id: String(w.ghUsers.octocat.id),
      decision: 'approve',
    });
    const done = await browser.get(ghBack.location!);
    expect(done.status).toBe(200);
    expect(done.headers['content-type']).toMatch(/text\/html/);
    expect(done.body).toContain(`@${w.ghUsers.octocat.login}`);
    expect(done.body).toContain('click the action again');
    expect(browser.cookies.size).toBe(0);

    await expect(w.links.findLink(w.fd('alice'))).resolves.toEqual({
      githubUserId: w.ghUsers.octocat.id,
      githubLogin: w.ghUsers.octocat.login,
    });
    const octokit = await w.links.octokitFor(w.fd('alice'));
    expect(octokit).not.toBeNull();
    const { data } = await octokit!.rest.users.getAuthenticated();
    expect(data.login).toBe(w.ghUsers.octocat.login);

    // The claim is spent: opening the link again ends on its page.
    const again = await w.browser().get(`${PUBLIC_URL}/authorization?claim=${claim}`);
    expect(again.status).toBe(410);
    expect(again.body).toContain('already used');
  });

  it('re-linking replaces the old link', async () => {
    const first = await w.link(w.browser(), w.fd('carol'), w.fd('carol'), w.ghUsers.octocat.id);
    expect(first.page.status).toBe(200);
    const second = await w.link(w.browser(), w.fd('carol'), w.fd('carol'), w.ghUsers.hubot.id);
    expect(second.page.status).toBe(200);
    await expect(w.links.findLink(w.fd('carol'))).resolves.toEqual({
      githubUserId: w.ghUsers.hubot.id,
      githubLogin: w.ghUsers.hubot.login,
    });
    const { data } = await (await w.links.octokitFor(w.fd('carol')))!.rest.users.getAuthenticated();
    expect(data.login).toBe(w.ghUsers.hubot.login);
  });

  it("a second user cannot complete a link with the first user's claim (403, nothing stored)", async () => {
    const { page, hops } = await w.link(
      w.browser(),
      w.fd('bob'),
      w.fd('alice'), // alice opens bob's link and signs in to Flowdock as herself
      w.ghUsers.monalisa.id,
    );
    expect(page.status).toBe(403);
    expect(page.body).toContain('another Flowdock user');
    expect(hops.githubAuthorize).toBeUndefined();
    await expect(w.links.findLink(w.fd('bob'))).resolves.toBeNull();
    // The claim is not spent: bob himself can still use it.
    await expect(w.claims.verify(hops.claim)).resolves.toMatchObject({
      flowdockUserId: w.fd('bob'),
    });
  });

  it('behind https, the state cookie is Secure (and still HttpOnly, SameSite=Lax)', async () => {
    const https = await startTestApp({ ...w.env, PUBLIC_URL: 'https://bridge.example.org' });
    try {
      const claim = await w.claims.issueClaim(w.fd('alice'));
      const res = await https.app.inject({ method: 'GET', url: `/authorization?claim=${claim}` });
      expect(res.statusCode).toBe(302);
      const cookie = String(res.headers['set-cookie']);
      expect(cookie).toMatch(/; Secure/);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Lax/);
      expect(new URL(String(res.headers.location)).searchParams.get('redirect_uri')).toBe(
        'https://bridge.example.org/auth/flowdock/callback',
      );
    } finally {
      await https.app.close();
    }
  });
});
