import { DataSource } from 'typeorm';
import { signActionRequest } from '../sandbox/flowdock/flowdock-action-signer';
import { LinkedAccountService } from '../src/auth/linked-account.service';
import { Metrics } from '../src/metrics/metrics';
import { startTestApp } from './support/test-app';
import { AuthWorld, useAuthWorld } from './support/auth-world';

const accessCiphertext = async (w: AuthWorld, flowdockUserId: string): Promise<string> => {
  const rows: { access_token: string }[] = await w.t.app
    .get(DataSource)
    .query(`SELECT "access_token" FROM "linked_account" WHERE "flowdock_user_id" = $1`, [
      flowdockUserId,
    ]);
  return rows[0]?.access_token;
};

describe('expiring GitHub tokens (GitHub App user tokens)', () => {
  let w: AuthWorld;
  // Shorter than the refresh margin: every octokitFor must refresh first.
  useAuthWorld((world) => (w = world), { githubTokenTtlMs: 60_000 });

  it('stores the refresh token and expiry, encrypted', async () => {
    const { page } = await w.link(w.browser(), w.fd('alice'), w.fd('alice'), w.ghUsers.octocat.id);
    expect(page.status).toBe(200);
    const [row]: Record<string, unknown>[] = await w.t.app
      .get(DataSource)
      .query(`SELECT * FROM "linked_account" WHERE "flowdock_user_id" = $1`, [w.fd('alice')]);
    expect(row.access_token).toMatch(/^v1\./);
    expect(row.refresh_token).toMatch(/^v1\./);
    expect(new Date(row.access_token_expires_at as string).getTime()).toBeGreaterThan(Date.now());
    expect(row.refresh_token_expires_at).not.toBeNull();
    expect(JSON.stringify(row)).not.toMatch(/gh[ur]_sim_/);
  });

  it('concurrent octokitFor calls cause exactly one refresh, and all of them work', async () => {
    await w.link(w.browser(), w.fd('bob'), w.fd('bob'), w.ghUsers.hubot.id);
    // The stored token is about to expire; the refreshed one lasts GitHub's 8 hours.
    w.githubOAuth.app.tokenTtlMs = 8 * 3600 * 1000;
    const before = await accessCiphertext(w, w.fd('bob'));
    const refreshesBefore = w.githubOAuth.tokenRequests.refresh_token;
    const octokits = await Promise.all(
      Array.from({ length: 6 }, () => w.links.octokitFor(w.fd('bob'))),
    );
    expect(w.githubOAuth.tokenRequests.refresh_token - refreshesBefore).toBe(1);
    expect(await accessCiphertext(w, w.fd('bob'))).not.toBe(before);
    w.githubOAuth.app.tokenTtlMs = 60_000;
    for (const octokit of octokits) {
      expect(octokit).not.toBeNull();
      const { data } = await octokit!.rest.users.getAuthenticated();
      expect(data.login).toBe(w.ghUsers.hubot.login);
    }
  });

  it('a refused refresh (the user revoked the app) removes the link: null, then a challenge', async () => {
    await w.link(w.browser(), w.fd('carol'), w.fd('carol'), w.ghUsers.monalisa.id);
    w.github.state.revokeUser(w.ghUsers.monalisa.id);
    await expect(w.links.octokitFor(w.fd('carol'))).resolves.toBeNull();
    await expect(w.links.findLink(w.fd('carol'))).resolves.toBeNull();
  });

  it('GitHub unreachable during a refresh -> 503 with a sentence, the link is kept', async () => {
    await w.link(w.browser(), w.fd('alice'), w.fd('alice'), w.ghUsers.octocat.id);
    await w.github.stop();
    await expect(w.links.octokitFor(w.fd('alice'))).rejects.toMatchObject({
      status: 503,
      message: expect.stringContaining('GitHub could not be reached'),
    });
    await expect(w.links.findLink(w.fd('alice'))).resolves.not.toBeNull();

    // A click meanwhile gets the same 503, and is counted as a failed action.
    const failed = () =>
      w.t.app
        .get(Metrics)
        .registry.getSingleMetricAsString('bridge_actions_total')
        .then((text) => /outcome="failed"[^\n]* (\d+)/.exec(text)?.[1] ?? '0');
    const before = await failed();
    const url = '/flowdock/actions/acme/widgets/pulls/1/close';
    const signed = signActionRequest(
      { name: 'Close', urlTemplate: w.env.PUBLIC_URL + url },
      { clientSecret: w.env.FLOWDOCK_CLIENT_SECRET, userId: w.fd('alice') },
    );
    const click = await w.t.app.inject({
      method: 'POST',
      url,
      headers: signed.headers,
      payload: signed.payload,
    });
    expect(click.statusCode).toBe(503);
    expect(click.json().message).toContain('GitHub could not be reached');
    expect(Number(await failed())).toBe(Number(before) + 1);
  });
});

describe('non-expiring tokens: 401, revocation, tampering, key rotation', () => {
  let w: AuthWorld;
  useAuthWorld((world) => (w = world));

  it('a 401 Bad credentials from GitHub removes the link', async () => {
    await w.link(w.browser(), w.fd('alice'), w.fd('alice'), w.ghUsers.octocat.id);
    const octokit = await w.links.octokitFor(w.fd('alice'));
    expect(w.githubOAuth.tokenRequests.refresh_token).toBe(0);
    w.github.state.revokeUser(w.ghUsers.octocat.id);
    await expect(octokit!.rest.users.getAuthenticated()).rejects.toMatchObject({ status: 401 });
    await expect(w.links.findLink(w.fd('alice'))).resolves.toBeNull();
    await expect(w.links.octokitFor(w.fd('alice'))).resolves.toBeNull();
  });

  it('revokeByGitHubUserId (the github_app_authorization webhook) removes every link to that user', async () => {
    await w.link(w.browser(), w.fd('bob'), w.fd('bob'), w.ghUsers.hubot.id);
    await w.link(w.browser(), w.fd('carol'), w.fd('carol'), w.ghUsers.hubot.id);
    await expect(w.links.revokeByGitHubUserId(w.ghUsers.hubot.id)).resolves.toBe(2);
    await expect(w.links.findLink(w.fd('bob'))).resolves.toBeNull();
    await expect(w.links.findLink(w.fd('carol'))).resolves.toBeNull();
    await expect(w.links.revokeByGitHubUserId(w.ghUsers.hubot.id)).resolves.toBe(0);
  });

  it('unlink deletes the stored tokens', async () => {
    await w.link(w.browser(), w.fd('bob'), w.fd('bob'), w.ghUsers.monalisa.id);
    await expect(w.links.unlink(w.fd('bob'), 'test')).resolves.toBe(true);
    expect(await accessCiphertext(w, w.fd('bob'))).toBeUndefined();
    await expect(w.links.unlink(w.fd('bob'), 'test')).resolves.toBe(false);
  });

  it('a tampered ciphertext reads as "not linked", never as an error', async () => {
    await w.link(w.browser(), w.fd('carol'), w.fd('carol'), w.ghUsers.monalisa.id);
    const sealed = await accessCiphertext(w, w.fd('carol'));
    const parts = sealed.split('.');
    parts[3] = (parts[3][0] === 'A' ? 'B' : 'A') + parts[3].slice(1);
    await w.t.app
      .get(DataSource)
      .query(`UPDATE "linked_account" SET "access_token" = $2 WHERE "flowdock_user_id" = $1`, [
        w.fd('carol'),
        parts.join('.'),
      ]);
    await expect(w.links.octokitFor(w.fd('carol'))).resolves.toBeNull();
    // A ciphertext copied from another user's row does not decrypt either.
    await w.link(w.browser(), w.fd('alice'), w.fd('alice'), w.ghUsers.monalisa.id);
    await w.t.app
      .get(DataSource)
      .query(`UPDATE "linked_account" SET "access_token" = $2 WHERE "flowdock_user_id" = $1`, [
        w.fd('carol'),
        await accessCiphertext(w, w.fd('alice')),
      ]);
    await expect(w.links.octokitFor(w.fd('carol'))).resolves.toBeNull();
  });

  it('key rotation: the new key reads old rows (with the old key listed) and re-encrypts them on use', async () => {
    await w.link(w.browser(), w.fd('bob'), w.fd('bob'), w.ghUsers.monalisa.id);
    const oldSealed = await accessCiphertext(w, w.fd('bob'));
    const oldKey = w.env.TOKEN_ENCRYPTION_KEY;
    const rotated = await startTestApp({
      ...w.env,
      TOKEN_ENCRYPTION_KEY: 'rotated-key-0123456789abcdefghijklmnopqrstuvwxyz',
      TOKEN_DECRYPTION_KEYS: oldKey,
    });
    try {
      const links = rotated.app.get(LinkedAccountService);
      const octokit = await links.octokitFor(w.fd('bob'));
      const { data } = await octokit!.rest.users.getAuthenticated();
      expect(data.login).toBe(w.ghUsers.monalisa.login);
      const newSealed = await accessCiphertext(w, w.fd('bob'));
      expect(newSealed.split('.')[1]).not.toBe(oldSealed.split('.')[1]);
      // Once re-encrypted, the old key is no longer needed.
      const newOnly = await startTestApp({
        ...w.env,
        TOKEN_ENCRYPTION_KEY: 'rotated-key-0123456789abcdefghijklmnopqrstuvwxyz',
      });
      try {
        await expect(
          newOnly.app.get(LinkedAccountService).octokitFor(w.fd('bob')),
        ).resolves.not.toBeNull();
      } finally {
        await newOnly.app.close();
      }
      // The old key alone cannot read the re-encrypted row: not linked, not a 500.
      await expect(w.links.octokitFor(w.fd('bob'))).resolves.toBeNull();
    } finally {
      await rotated.app.close();
    }
  });
});
