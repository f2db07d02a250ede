import { DataSource } from 'typeorm';
import { signActionRequest } from '../sandbox/flowdock/flowdock-action-signer';
import { AuthWorld, PUBLIC_URL, useAuthWorld } from './support/auth-world';
import { TestBrowser } from './support/auth-browser';

/**
 * An unlinked person clicks an action: the challenge's claim carries that
 * click, and the end of the linking flow performs it as the newly linked
 * GitHub account — once — and says what happened.
 */
describe('link and act in one go', () => {
  let w: AuthWorld;
  useAuthWorld((world) => (w = world));
  let owner: string;
  const repo = 'widgets';

  beforeAll(() => {
    owner = `acme-${w.fd('alice')}`;
    w.repos.addRepo(`${owner}/${repo}`, {
      permissions: { [w.ghUsers.octocat.login]: 'write', [w.ghUsers.hubot.login]: 'write' },
    });
    for (const number of [5, 6, 7]) w.repos.addItem(`${owner}/${repo}`, { number, kind: 'pull' });
    w.repos.addItem(`${owner}/${repo}`, { number: 8, kind: 'issue' });
  });

  /** Clicks an action in Flowdock as `user` (signed as Flowdock signs it). */
  const click = (user: keyof AuthWorld['fdUsers'], path: string) => {
    const url = `/flowdock/actions/${owner}/${repo}/${path}`;
    const signed = signActionRequest(
      { name: 'An action', urlTemplate: PUBLIC_URL + url, agent: { name: w.fdUsers[user].name } },
      { clientSecret: w.env.FLOWDOCK_CLIENT_SECRET, userId: w.fd(user) },
    );
    return w.t.app.inject({
      method: 'POST',
      url,
      headers: signed.headers,
      payload: signed.payload,
    });
  };

  const challengeUrl = (response: { statusCode: number; headers: Record<string, unknown> }) => {
    expect(response.statusCode).toBe(401);
    const url = /^Flowdock-Token url=(\S+)$/.exec(
      String(response.headers['www-authenticate']),
    )?.[1];
    expect(url).toBeDefined();
    return url!;
  };

  /** Walks a challenge URL: Flowdock sign-in as `signInAs`, GitHub authorization as `authorizeAs`. */
  async function walk(browser: TestBrowser, url: string, signInAs: string, authorizeAs: number) {
    const start = await browser.get(url);
    const fdBack = await browser.submitConsent(await browser.get(start.location!), {
      user_id: signInAs,
      decision: 'approve',
    });
    const toGitHub = await browser.get(fdBack.location!);
    if (!toGitHub.location) return { page: toGitHub, githubCallback: undefined };
    const ghBack = await browser.submitConsent(await browser.get(toGitHub.location), {
      user_id: String(authorizeAs),
      decision: 'approve',
    });
    return { page: await browser.get(ghBack.location!), githubCallback: ghBack.location! };
  }

  const callsOn = (number: number) =>
    w.repos.calls.filter((c) => c.method !== 'GET' && c.path.includes(`/${number}`));

  it('performs the clicked action as the new link, names the person, and the thread follows', async () => {
    const url = challengeUrl(await click('alice', 'pulls/5/assign-to-me'));
    const { page, githubCallback } = await walk(
      w.browser(),
      url,
      w.fd('alice'),
      w.ghUsers.octocat.id,
    );

    expect(page.status).toBe(200);
    expect(page.body).toContain(`You are now assigned to ${owner}/${repo}#5.`);
    expect(page.body).toContain('Alice (@alice) is now linked to the GitHub account');
    expect(page.body).not.toContain(`Flowdock user ${w.fd('alice')}`);
    expect(page.body).toContain('id="action-outcome" data-done="true"');
    expect(page.body).toContain(`href="${w.github.url}/${owner}/${repo}/pull/5"`);

    const item = w.repos.repo(`${owner}/${repo}`)!.items.get(5)!;
    expect(item.assignees).toEqual([w.ghUsers.octocat.login]);
    expect(callsOn(5)).toEqual([
      expect.objectContaining({ method: 'POST', login: w.ghUsers.octocat.login, status: 201 }),
    ]);
    const [thread] = await w.t.app
      .get(DataSource)
      .query(
        `SELECT snapshot FROM github_thread WHERE repository = $1 AND kind = 'pull' AND number = 5`,
        [`${owner}/${repo}`],
      );
    expect(thread.snapshot.assignees).toEqual([w.ghUsers.octocat.login]);

    // Neither the challenge link nor the last callback performs it again.
    const again = await w.browser().get(url);
    expect(again.status).toBe(410);
    const replayed = await w.browser().get(githubCallback!);
    expect(replayed.status).toBe(400);
    expect(callsOn(5)).toHaveLength(1);
    // Linked now: the next click acts at once.
    const next = await click('alice', 'pulls/5/unassign-me');
    expect(next.statusCode).toBe(200);
    expect(next.json()).toEqual({ status: 'open', assignees: [] });
    // How long the bridge waited for GitHub, and its own time around that wait (never negative).
    expect(next.headers['server-timing']).toMatch(/^github;dur=\d+\.\d{2}, bridge;dur=\d+\.\d{2}$/);
  });

  it('the claim carries exactly the verified click, and a changed claim is refused', async () => {
    const url = challengeUrl(await click('bob', 'pulls/6/close'));
    const claim = new URL(url).searchParams.get('claim')!;
    const [header, body, signature] = claim.split('.');
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    expect(payload.user).toBe(w.fd('bob'));
    expect(payload.then).toEqual({ owner, repo, kind: 'pulls', number: 6, action: 'close' });

    const forged = Buffer.from(
      JSON.stringify({ ...payload, then: { ...payload.then, number: 7 } }),
    ).toString('base64url');
    const refused = await w
      .browser()
      .get(`${PUBLIC_URL}/authorization?claim=${header}.${forged}.${signature}`);
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('This link is not valid');
    expect(callsOn(7)).toEqual([]);
  });

  it('says why when GitHub refuses the clicked action; the link is stored all the same', async () => {
    // monalisa has read access only: closing is refused.
    const url = challengeUrl(await click('carol', 'issues/8/close'));
    const { page } = await walk(w.browser(), url, w.fd('carol'), w.ghUsers.monalisa.id);
    expect(page.status).toBe(200);
    expect(page.body).toContain('id="action-outcome" data-done="false"');
    expect(page.body).toContain('The action was not performed:');
    expect(page.body).toContain(`write access to ${owner}/${repo}`);
    expect(page.body).toContain(`href="${w.github.url}/${owner}/${repo}/issues/8"`);
    expect(w.repos.repo(`${owner}/${repo}`)!.items.get(8)!.state).toBe('open');
    expect(await w.links.findLink(w.fd('carol'))).toMatchObject({
      githubLogin: w.ghUsers.monalisa.login,
    });
  });

  it('signed in as someone else: the page names both people and nothing is linked or done', async () => {
    const url = challengeUrl(await click('bob', 'pulls/7/close'));
    const { page } = await walk(w.browser(), url, w.fd('alice'), w.ghUsers.hubot.id);
    expect(page.status).toBe(403);
    expect(page.body).toContain('This link was made for another Flowdock user');
    expect(page.body).toContain(`Bob &lt;b&gt; (Flowdock user ${w.fd('bob')})`);
    expect(page.body).toContain('you signed in to Flowdock as Alice (@alice)');
    expect(page.body).toContain('sign out of Flowdock');
    expect(callsOn(7)).toEqual([]);
  });
});
