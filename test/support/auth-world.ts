import { randomInt } from 'node:crypto';
import { DataSource } from 'typeorm';
import { startBridgeWorld } from '../../sandbox/world/bridge-world';
import { freePort } from '../../sandbox/world/processes';
import { ClaimService } from '../../src/auth/claim.service';
import { LinkedAccountService } from '../../src/auth/linked-account.service';
import { TestBrowser } from './auth-browser';
import { testEnvironment, TestApp } from './test-app';

export const PUBLIC_URL = 'http://bridge.test';

export interface AuthWorldOptions {
  /** Expiring GitHub tokens of this lifetime (a GitHub App); unset: OAuth App tokens. */
  githubTokenTtlMs?: number;
  /** Environment overrides for the bridge (e.g. a dead FLOWDOCK_API_URL). */
  env?: Record<string, string>;
}

/** A loopback port nothing listens on. */
export async function deadUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

/**
 * The bridge (in this process, for `app.inject()`) with Flowdock and GitHub
 * simulators on loopback, and what the auth tests do with it: the linking
 * flow through a browser, and the check that no secret leaked. User ids are
 * random per world: spec files run in parallel against one database.
 */
export async function startAuthWorld(options: AuthWorldOptions = {}) {
  const base = randomInt(1_000_000, 900_000_000);
  const fdUsers = {
    alice: { id: base + 1, nick: 'alice', name: 'Alice', email: 'alice@example.test' },
    bob: { id: base + 2, nick: 'bob', name: 'Bob <b>', email: 'bob@example.test' },
    carol: { id: base + 3, nick: 'carol', name: 'Carol', email: 'carol@example.test' },
  };
  const ghUsers = {
    octocat: { id: base + 11, login: `octocat-${base}`, name: 'The Octocat' },
    hubot: { id: base + 12, login: `hubot-${base}`, name: 'Hubot' },
    monalisa: { id: base + 13, login: `monalisa-${base}`, name: 'Mona Lisa' },
  };
  const logs: string[] = [];
  const world = await startBridgeWorld({
    bridge: 'injected',
    flowdockUsers: Object.values(fdUsers),
    githubUsers: Object.values(ghUsers),
    githubTokenTtlMs: options.githubTokenTtlMs,
    logStream: { write: (line: string) => void logs.push(line) },
    env: testEnvironment({
      LOG_LEVEL: 'debug',
      PUBLIC_URL,
      FLOWDOCK_CLIENT_ID: `fd-${base}`,
      GITHUB_CLIENT_ID: `Iv1.${base}`,
      ...options.env,
    }),
  });
  const { env, flowdock, github, githubOAuth, repos } = world;
  const t: TestApp = { app: world.app, config: world.config, logs };
  const claims = t.app.get(ClaimService);
  const links = t.app.get(LinkedAccountService);
  const fd = (name: keyof typeof fdUsers) => String(fdUsers[name].id);

  /** Runs the whole flow from a challenge URL; returns the last page and every hop. */
  async function link(
    browser: TestBrowser,
    claimFor: string,
    signInAs: string,
    authorizeAs: number,
  ) {
    const claim = await claims.issueClaim(claimFor);
    const hops = { claim } as Record<string, string>;
    const start = await browser.get(`${PUBLIC_URL}/authorization?claim=${claim}`);
    const fdConsent = await browser.get(start.location!);
    const fdBack = await browser.submitConsent(fdConsent, {
      user_id: signInAs,
      decision: 'approve',
    });
    hops.flowdockCallback = fdBack.location!;
    const toGitHub = await browser.get(fdBack.location!);
    if (!toGitHub.location) return { page: toGitHub, hops };
    hops.githubAuthorize = toGitHub.location;
    const ghConsent = await browser.get(toGitHub.location);
    const ghBack = await browser.submitConsent(ghConsent, {
      user_id: String(authorizeAs),
      decision: 'approve',
    });
    hops.githubCallback = ghBack.location!;
    const page = await browser.get(ghBack.location!);
    return { page, hops };
  }

  const browsers: TestBrowser[] = [];

  /**
   * Every token, code, refresh token, state and claim the simulators issued or
   * a browser carried in a URL: none may appear in logs or in the database.
   */
  function secretsSeen(): string[] {
    const fromUrls = browsers.flatMap((b) =>
      b.visited.flatMap((url) => {
        const params = new URL(url).searchParams;
        return ['code', 'state', 'claim'].map((name) => params.get(name) ?? '');
      }),
    );
    return [
      ...github.state.tokens.keys(),
      ...githubOAuth.issued,
      ...flowdock.state.accessTokens.keys(),
      ...flowdock.state.refreshTokens.keys(),
      ...fromUrls,
    ].filter((value) => value.length >= 8);
  }

  /** The auth tables as text, for looking for plaintext secrets. */
  async function storedText(): Promise<string> {
    const rows: unknown[] = await t.app.get(DataSource).query(
      `SELECT row_to_json(a)::text AS row FROM "linked_account" a
       UNION ALL SELECT row_to_json(s)::text FROM "oauth_state" s
       UNION ALL SELECT row_to_json(c)::text FROM "spent_claim" c`,
    );
    return JSON.stringify(rows);
  }

  /** Fails when any secret seen so far is in the logs (these and `extraLogs`) or stored in plaintext. */
  async function expectNoLeaks(extraLogs: string[] = []): Promise<void> {
    const secrets = secretsSeen();
    const logs = [...t.logs, ...extraLogs].join('\n');
    const stored = await storedText();
    expect(secrets.length).toBeGreaterThan(0);
    expect(secrets.filter((secret) => logs.includes(secret))).toEqual([]);
    expect(secrets.filter((secret) => stored.includes(secret))).toEqual([]);
  }

  return {
    t,
    secretsSeen,
    expectNoLeaks,
    storedText,
    env,
    flowdock,
    github,
    githubOAuth,
    repos,
    fdUsers,
    ghUsers,
    fd,
    claims,
    links,
    link,
    browser: () => {
      const browser = new TestBrowser(t.app, PUBLIC_URL);
      browsers.push(browser);
      return browser;
    },
    stop: world.stop,
  };
}

export type AuthWorld = Awaited<ReturnType<typeof startAuthWorld>>;

/**
 * Starts a world before the enclosing describe block's tests and, after them,
 * checks that no secret reached the logs or the auth tables, then stops it.
 */
export function useAuthWorld(assign: (world: AuthWorld) => void, options: AuthWorldOptions = {}) {
  let world: AuthWorld | undefined;
  beforeAll(async () => {
    world = await startAuthWorld(options);
    assign(world);
  });
  afterAll(async () => {
    try {
      await world?.expectNoLeaks();
    } finally {
      await world?.stop();
    }
  });
}
