import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { CLAIM_AUDIENCE } from '../src/auth/claim.service';
import { TestBrowser } from './support/auth-browser';
import { AuthWorld, deadUrl, PUBLIC_URL, startAuthWorld } from './support/auth-world';

/** Every failure ends on an HTML page with its status, a next step, and nothing stored. */
function expectPage(
  page: { status: number; body: string; headers: object },
  status: number,
  text: string,
) {
  expect(page.status).toBe(status);
  expect(page.headers).toMatchObject({
    'content-type': expect.stringMatching(/^text\/html/),
    'cache-control': 'no-store',
  });
  expect(page.body).toContain(text);
  expect(page.body).toMatch(/<p class="next" id="next">[^<]{20,}<\/p>/);
}

describe('linking misuse and failures', () => {
  let w: AuthWorld;
  let jwt: JwtService;
  beforeAll(async () => {
    w = await startAuthWorld();
    jwt = new JwtService({ secret: w.env.COOKIE_SECRET });
  });
  // Nothing secret was logged or stored in plaintext by any test in this file.
  afterAll(async () => {
    try {
      const secrets = w.secretsSeen();
      expect(secrets.length).toBeGreaterThan(10);
      const logs = w.t.logs.join('\n');
      const stored = await w.storedText();
      expect(secrets.filter((secret) => logs.includes(secret))).toEqual([]);
      expect(secrets.filter((secret) => stored.includes(secret))).toEqual([]);
    } finally {
      await w?.stop();
    }
  });

  /** Starts a link and returns the Flowdock callback URL a user approving as `as` would reach. */
  async function toFlowdockCallback(browser: TestBrowser, claimFor: string, as: string) {
    const claim = await w.claims.issueClaim(claimFor);
    const start = await browser.get(`${PUBLIC_URL}/authorization?claim=${claim}`);
    const consent = await browser.get(start.location!);
    const back = await browser.submitConsent(consent, { user_id: as, decision: 'approve' });
    return { claim, callback: back.location! };
  }

  describe('claims', () => {
    it('missing -> 400', async () => {
      expectPage(await w.browser().get(`${PUBLIC_URL}/authorization`), 400, 'no claim');
    });

    it('tampered -> 400, and no cookie or state is created', async () => {
      const claim = await w.claims.issueClaim(w.fd('alice'));
      const [header, payload, signature] = claim.split('.');
      const forged = Buffer.from(
        JSON.stringify({
          ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
          user: w.fd('bob'),
        }),
      ).toString('base64url');
      const page = await w
        .browser()
        .get(`${PUBLIC_URL}/authorization?claim=${header}.${forged}.${signature}`);
      expectPage(page, 400, 'not valid');
      expect(page.headers['set-cookie']).toBeUndefined();
      const garbage = await w.browser().get(`${PUBLIC_URL}/authorization?claim=not-a-jwt`);
      expectPage(garbage, 400, 'not valid');
    });

    it('expired -> 410', async () => {
      const expired = await jwt.signAsync(
        { user: w.fd('alice'), exp: Math.floor(Date.now() / 1000) - 5 },
        { audience: CLAIM_AUDIENCE, jwtid: randomUUID() },
      );
      expectPage(
        await w.browser().get(`${PUBLIC_URL}/authorization?claim=${expired}`),
        410,
        'expired',
      );
    });

    it('a token of another type, even signed with COOKIE_SECRET, is not a claim', async () => {
      const noAudience = await jwt.signAsync(
        { user: w.fd('alice') },
        { jwtid: randomUUID(), expiresIn: 60 },
      );
      expectPage(
        await w.browser().get(`${PUBLIC_URL}/authorization?claim=${noAudience}`),
        400,
        'not valid',
      );
      const session = await jwt.signAsync(
        { user: w.fd('alice'), csrf: 'x' },
        { audience: 'flowdock-github-bridge:account-session', expiresIn: 60 },
      );
      expectPage(
        await w.browser().get(`${PUBLIC_URL}/authorization?claim=${session}`),
        400,
        'not valid',
      );
      // A FLOWDOCK-TOKEN (HS256 with FLOWDOCK_CLIENT_SECRET, sub + signature) is not a claim either.
      const flowdockToken = await new JwtService({
        secret: w.env.FLOWDOCK_CLIENT_SECRET,
      }).signAsync({ sub: w.fd('alice'), signature: 'ab'.repeat(32) }, { expiresIn: 30 });
      expectPage(
        await w.browser().get(`${PUBLIC_URL}/authorization?claim=${flowdockToken}`),
        400,
        'not valid',
      );
      const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
        JSON.stringify({ user: w.fd('alice'), aud: CLAIM_AUDIENCE, jti: randomUUID(), exp: 9e9 }),
      ).toString('base64url')}.`;
      expectPage(
        await w.browser().get(`${PUBLIC_URL}/authorization?claim=${none}`),
        400,
        'not valid',
      );
    });

    it('a claim is not a FLOWDOCK-TOKEN: other key, no sub, no body signature', async () => {
      const claim = await w.claims.issueClaim(w.fd('alice'));
      const asFlowdock = new JwtService({ secret: w.env.FLOWDOCK_CLIENT_SECRET });
      await expect(asFlowdock.verifyAsync(claim, { algorithms: ['HS256'] })).rejects.toThrow(
        /signature/,
      );
      const payload = jwt.decode<Record<string, unknown>>(claim);
      expect(payload).toMatchObject({ user: w.fd('alice'), aud: CLAIM_AUDIENCE });
      expect(payload).not.toHaveProperty('sub');
      expect(payload).not.toHaveProperty('signature');
      expect((payload.exp as number) - (payload.iat as number)).toBe(15 * 60);
    });

    it('a claim used by two browsers at once links only once (410 for the slower one)', async () => {
      const a = w.browser();
      const b = w.browser();
      const claim = await w.claims.issueClaim(w.fd('carol'));
      const run = async (browser: TestBrowser, githubUser: number) => {
        const start = await browser.get(`${PUBLIC_URL}/authorization?claim=${claim}`);
        const consent = await browser.get(start.location!);
        const back = await browser.submitConsent(consent, {
          user_id: w.fd('carol'),
          decision: 'approve',
        });
        const toGitHub = await browser.get(back.location!);
        const ghConsent = await browser.get(toGitHub.location!);
        const ghBack = await browser.submitConsent(ghConsent, {
          user_id: String(githubUser),
          decision: 'approve',
        });
        return () => browser.get(ghBack.location!);
      };
      const finishA = await run(a, w.ghUsers.octocat.id);
      const finishB = await run(b, w.ghUsers.hubot.id);
      expect((await finishA()).status).toBe(200);
      expectPage(await finishB(), 410, 'already used');
      await expect(w.links.findLink(w.fd('carol'))).resolves.toMatchObject({
        githubLogin: w.ghUsers.octocat.login,
      });
    });
  });

  describe('state and cookie', () => {
    it('a state from another browser (login CSRF) -> 400, and the owner can still finish', async () => {
      const victim = w.browser();
      const { callback } = await toFlowdockCallback(victim, w.fd('bob'), w.fd('bob'));
      const attacker = w.browser();
      expectPage(await attacker.get(callback), 400, 'not started in this browser');
      // The attacker's attempt did not burn the victim's sign-in.
      const next = await victim.get(callback);
      expect(next.status).toBe(302);
      expect(next.location).toContain('/login/oauth/authorize');
    });

    it("the GitHub step of someone else's sign-in cannot be completed in your browser", async () => {
      const attacker = w.browser();
      const { callback } = await toFlowdockCallback(attacker, w.fd('alice'), w.fd('alice'));
      const toGitHub = await attacker.get(callback);
      // The attacker sends the GitHub authorize link to a victim, whose browser has no cookie.
      const victim = w.browser();
      const consent = await victim.get(toGitHub.location!);
      const back = await victim.submitConsent(consent, {
        user_id: String(w.ghUsers.monalisa.id),
        decision: 'approve',
      });
      expectPage(await victim.get(back.location!), 400, 'not started in this browser');
      const link = await w.links.findLink(w.fd('alice'));
      expect(link?.githubUserId).not.toBe(w.ghUsers.monalisa.id);
    });

    it('a state that does not match the cookie -> 400', async () => {
      const browser = w.browser();
      const { callback } = await toFlowdockCallback(browser, w.fd('bob'), w.fd('bob'));
      const url = new URL(callback);
      url.searchParams.set('state', 'x'.repeat(43));
      expectPage(await browser.get(url.toString()), 400, 'does not belong');
    });

    it('a replayed state (cookie kept) -> 400: each state works once', async () => {
      const browser = w.browser();
      const { callback } = await toFlowdockCallback(browser, w.fd('bob'), w.fd('bob'));
      const cookies = new Map(browser.cookies);
      expect((await browser.get(callback)).status).toBe(302);
      for (const [name, value] of cookies) browser.cookies.set(name, value);
      expectPage(await browser.get(callback), 400, 'already completed');
    });

    it('a callback with no state or a forged cookie -> 400', async () => {
      const browser = w.browser();
      await toFlowdockCallback(browser, w.fd('bob'), w.fd('bob'));
      expectPage(
        await browser.get(`${PUBLIC_URL}/auth/flowdock/callback?code=abc`),
        400,
        'does not belong',
      );
      const forged = w.browser();
      forged.cookies.set('bridge_oauth_state', { value: 'abc.def', path: '/' });
      expectPage(
        await forged.get(`${PUBLIC_URL}/auth/github/callback?code=abc&state=abc`),
        400,
        'not started in this browser',
      );
    });
  });

  describe('consent and identity', () => {
    it('declined at Flowdock -> 403, nothing stored', async () => {
      const browser = w.browser();
      const claim = await w.claims.issueClaim(w.fd('bob'));
      const start = await browser.get(`${PUBLIC_URL}/authorization?claim=${claim}`);
      const consent = await browser.get(start.location!);
      const back = await browser.submitConsent(consent, { user_id: w.fd('bob'), decision: 'deny' });
      expect(back.location).toContain('error=access_denied');
      expectPage(await browser.get(back.location!), 403, 'declined the request on Flowdock');
      await expect(w.links.findLink(w.fd('bob'))).resolves.toBeNull();
    });

    it('declined at GitHub -> 403, nothing stored', async () => {
      const browser = w.browser();
      const { callback } = await toFlowdockCallback(browser, w.fd('bob'), w.fd('bob'));
      const toGitHub = await browser.get(callback);
      const consent = await browser.get(toGitHub.location!);
      const back = await browser.submitConsent(consent, {
        user_id: String(w.ghUsers.hubot.id),
        decision: 'deny',
      });
      expectPage(await browser.get(back.location!), 403, 'declined the request on GitHub');
      await expect(w.links.findLink(w.fd('bob'))).resolves.toBeNull();
    });

    it('wrong Flowdock user -> 403 page that names no secret', async () => {
      const browser = w.browser();
      const { claim, callback } = await toFlowdockCallback(browser, w.fd('bob'), w.fd('alice'));
      const page = await browser.get(callback);
      expectPage(page, 403, 'made for another Flowdock user');
      expect(page.body).not.toContain(claim);
      expect(page.body).not.toContain(new URL(callback).searchParams.get('code')!);
      await expect(w.links.findLink(w.fd('bob'))).resolves.toBeNull();
    });

    it('a stolen GitHub code is useless without the PKCE verifier the bridge keeps', async () => {
      const browser = w.browser();
      const { callback } = await toFlowdockCallback(browser, w.fd('bob'), w.fd('bob'));
      const toGitHub = await browser.get(callback);
      const consent = await browser.get(toGitHub.location!);
      const back = await browser.submitConsent(consent, {
        user_id: String(w.ghUsers.hubot.id),
        decision: 'approve',
      });
      const code = new URL(back.location!).searchParams.get('code')!;
      const res = await fetch(`${w.github.url}/login/oauth/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          client_id: w.env.GITHUB_CLIENT_ID,
          client_secret: w.env.GITHUB_CLIENT_SECRET,
          code,
          redirect_uri: `${PUBLIC_URL}/auth/github/callback`,
        }),
      });
      expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
      // The code was burned by the attempt, so the real callback now fails too, storing nothing.
      expectPage(await browser.get(back.location!), 400, 'GitHub refused');
      await expect(w.links.findLink(w.fd('bob'))).resolves.toBeNull();
    });
  });
});

describe('linking when a provider is unreachable', () => {
  it('Flowdock unreachable at the callback -> 502 page', async () => {
    const w = await startAuthWorld({
      env: { FLOWDOCK_API_URL: await deadUrl(), FLOWDOCK_TIMEOUT_MS: '2000' },
    });
    try {
      const browser = w.browser();
      const claim = await w.claims.issueClaim(w.fd('alice'));
      const start = await browser.get(`${PUBLIC_URL}/authorization?claim=${claim}`);
      const state = new URL(start.location!).searchParams.get('state')!;
      const page = await browser.get(
        `${PUBLIC_URL}/auth/flowdock/callback?code=whatever&state=${state}`,
      );
      expectPage(page, 502, 'could not reach Flowdock');
      await expect(w.links.findLink(w.fd('alice'))).resolves.toBeNull();
    } finally {
      await w.stop();
    }
  });

  it('GitHub unreachable at the callback -> 502 page', async () => {
    const w = await startAuthWorld();
    try {
      const browser = w.browser();
      const claim = await w.claims.issueClaim(w.fd('alice'));
      const start = await browser.get(`${PUBLIC_URL}/authorization?claim=${claim}`);
      const consent = await browser.get(start.location!);
      const back = await browser.submitConsent(consent, {
        user_id: w.fd('alice'),
        decision: 'approve',
      });
      const toGitHub = await browser.get(back.location!);
      const state = new URL(toGitHub.location!).searchParams.get('state')!;
      await w.github.stop();
      const page = await browser.get(
        `${PUBLIC_URL}/auth/github/callback?code=whatever&state=${state}`,
      );
      expectPage(page, 502, 'could not reach GitHub');
      await expect(w.links.findLink(w.fd('alice'))).resolves.toBeNull();
    } finally {
      await w.t.app.close();
      await w.flowdock.stop();
    }
  });
});
