import { Controller, HttpCode, Module, Param, Post } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createHash, randomUUID } from 'node:crypto';
import { signActionRequest, signFlowdockToken } from '../sandbox/flowdock/flowdock-action-signer';
import { CLAIM_AUDIENCE } from '../src/auth/claim.service';
import { SignedFlowdockAction } from '../src/actions/signed-flowdock-action.decorator';
import type { FlowdockActionRequest } from '../src/actions/flowdock-action.types';
import { FlowdockChallenges } from '../src/auth/flowdock-challenge';
import { FlowdockClick } from '../src/actions/flowdock-click.decorator';
import { ActionsModule } from '../src/actions/actions.module';
import { AuthModule } from '../src/auth/auth.module';
import { UsedActionTokenStore } from '../src/actions/used-action-token.store';
import { startTestApp, TestApp, testEnvironment } from './support/test-app';

const SECRET = 'flowdock-secret-for-the-actions-e2e-spec-0123456789';
const COOKIE_SECRET = 'cookie-secret-for-the-actions-e2e-spec-0123456789ab';
const PUBLIC_URL = 'https://bridge.example.com';
const LINKED_USER = '1002';

// A route of its own: the real action endpoint (ActionsModule) owns /flowdock/actions.
@Controller('test/flowdock/actions')
class TestActionsController {
  constructor(private readonly challenges: FlowdockChallenges) {}

  @Post(':owner/:repo/:kind/:number/:action')
  @HttpCode(200)
  @SignedFlowdockAction()
  async act(@FlowdockClick() user: FlowdockActionRequest, @Param('action') action: string) {
    if (user.userId !== LINKED_USER) throw await this.challenges.challenge(user.userId);
    return { userId: user.userId, name: user.action.name, agent: user.action.agent, action };
  }
}

// The challenge is the application's own (AuthModule's, with its ClaimService).
@Module({ imports: [ActionsModule, AuthModule], controllers: [TestActionsController] })
class TestActionsModule {}

describe('UpdateAction requests (FlowdockActionGuard, @FlowdockClick, challenge)', () => {
  let t: TestApp;
  let pathCounter = 0;
  // Every test acts on its own issue, so parallel files and reruns never collide.
  const nextPath = () =>
    `/test/flowdock/actions/acme/actions-spec-${process.pid}/pulls/${++pathCounter}/close`;

  beforeAll(async () => {
    t = await startTestApp(
      testEnvironment({
        PUBLIC_URL,
        FLOWDOCK_CLIENT_SECRET: SECRET,
        COOKIE_SECRET,
      }),
      [TestActionsModule],
    );
  });
  afterAll(() => t.app.close());

  const send = (path: string, signed: { headers: Record<string, string>; payload: string }) =>
    t.app.inject({ method: 'POST', url: path, headers: signed.headers, payload: signed.payload });

  it('lets a signed request of a linked user reach the handler with the user and action', async () => {
    const path = nextPath();
    const signed = signActionRequest(
      { name: 'Close', urlTemplate: PUBLIC_URL + path, agent: { name: 'Bob' } },
      { clientSecret: SECRET, userId: 1002 },
    );
    const response = await send(path, signed);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      userId: '1002',
      name: 'Close',
      agent: { '@type': 'Person', name: 'Bob' },
      action: 'close',
    });
  });

  it('refuses a replayed token with 401, even with the same body', async () => {
    const path = nextPath();
    const signed = signActionRequest(
      { name: 'Close', urlTemplate: PUBLIC_URL + path },
      { clientSecret: SECRET, userId: LINKED_USER },
    );
    expect((await send(path, signed)).statusCode).toBe(200);
    const replay = await send(path, signed);
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({
      statusCode: 401,
      message: expect.stringMatching(/already used/),
    });
    expect(replay.headers['www-authenticate']).toBeUndefined();
  });

  it('refuses a token replayed against another replica (shared database)', async () => {
    const other = await startTestApp(
      testEnvironment({ PUBLIC_URL, FLOWDOCK_CLIENT_SECRET: SECRET, COOKIE_SECRET }),
      [TestActionsModule],
    );
    try {
      const path = nextPath();
      const signed = signActionRequest(
        { name: 'Close', urlTemplate: PUBLIC_URL + path },
        { clientSecret: SECRET, userId: LINKED_USER },
      );
      expect((await send(path, signed)).statusCode).toBe(200);
      const replay = await other.app.inject({
        method: 'POST',
        url: path,
        headers: signed.headers,
        payload: signed.payload,
      });
      expect(replay.statusCode).toBe(401);
    } finally {
      await other.app.close();
    }
  });

  it('answers an unlinked user with the challenge: 401, WWW-Authenticate and the exact body', async () => {
    const path = nextPath();
    const signed = signActionRequest(
      { name: 'Close', urlTemplate: PUBLIC_URL + path },
      { clientSecret: SECRET, userId: 1001 },
    );
    const response = await send(path, signed);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'Authentication required' });
    const header = response.headers['www-authenticate'] as string;
    const match = /^Flowdock-Token url=(\S+)$/.exec(header);
    expect(match).not.toBeNull();
    const url = new URL((match as RegExpExecArray)[1]);
    expect(`${url.origin}${url.pathname}`).toBe(`${PUBLIC_URL}/authorization`);
    const claim = new JwtService({ secret: COOKIE_SECRET }).verify<{ user: string }>(
      url.searchParams.get('claim') as string,
      { audience: CLAIM_AUDIENCE, algorithms: ['HS256'] },
    );
    expect(claim.user).toBe('1001');
  });

  it.each<[string, (path: string) => { headers: Record<string, string>; payload: string }, number]>(
    [
      [
        'no FLOWDOCK-TOKEN',
        (path) => ({ ...unsigned(path), headers: { 'content-type': 'application/json' } }),
        401,
      ],
      ['a malformed token', (path) => withToken(unsigned(path), 'abc.def'), 401],
      ['alg none', (path) => withToken(unsigned(path), noneToken(path)), 401],
      [
        'a wrong secret',
        (path) =>
          signActionRequest(
            { name: 'Close', urlTemplate: PUBLIC_URL + path },
            { clientSecret: 'wrong-secret', userId: 1 },
          ),
        401,
      ],
      [
        'an expired token',
        (path) =>
          signActionRequest(
            { name: 'Close', urlTemplate: PUBLIC_URL + path },
            { clientSecret: SECRET, userId: 1, ttlSeconds: -120 },
          ),
        401,
      ],
      [
        'a far-future exp',
        (path) =>
          signActionRequest(
            { name: 'Close', urlTemplate: PUBLIC_URL + path },
            { clientSecret: SECRET, userId: 1, ttlSeconds: 86_400 },
          ),
        401,
      ],
      [
        'a tampered body',
        (path) => {
          const signed = signActionRequest(
            { name: 'Close', urlTemplate: PUBLIC_URL + path },
            { clientSecret: SECRET, userId: 1 },
          );
          return { ...signed, payload: signed.payload.replace('Close', 'Reopen') };
        },
        403,
      ],
      [
        'a body signed for another issue',
        (path) =>
          signActionRequest(
            { name: 'Close', urlTemplate: `${PUBLIC_URL}${path}0` },
            { clientSecret: SECRET, userId: 1 },
          ),
        403,
      ],
    ],
  )('refuses %s', async (_label, make, expected) => {
    const path = nextPath();
    const response = await send(path, make(path));
    expect(response.statusCode).toBe(expected);
    expect(response.json()).toMatchObject({ statusCode: expected, message: expect.any(String) });
    expect(response.headers['www-authenticate']).toBeUndefined();
  });

  it('refuses a signed form-encoded body with 400, not 500', async () => {
    const path = nextPath();
    const payload = 'name=Close';
    const token = signFlowdockToken(
      {
        sub: '1',
        exp: Math.floor(Date.now() / 1000) + 30,
        signature: createHash('sha256').update(payload).digest('hex'),
      },
      SECRET,
    );
    const response = await t.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'flowdock-token': token },
      payload,
    });
    expect(response.statusCode).toBe(400);
  });

  it('prunes used tokens once they expired, and only those', async () => {
    const used = t.app.get(UsedActionTokenStore);
    const now = Math.floor(Date.now() / 1000);
    const expired = `expired-${randomUUID()}`;
    const live = `live-${randomUUID()}`;
    expect(await used.useOnce(expired, now - 3600)).toBe(true);
    expect(await used.useOnce(live, now + 60)).toBe(true);
    expect(await used.prune()).toBeGreaterThanOrEqual(1);
    // The expired one is forgotten (its exp refuses it anyway); the live one is still refused.
    expect(await used.useOnce(expired, now - 3600)).toBe(true);
    expect(await used.useOnce(live, now + 60)).toBe(false);
  });

  it('never logs the FLOWDOCK-TOKEN', async () => {
    const path = nextPath();
    const signed = signActionRequest(
      { name: 'Close', urlTemplate: PUBLIC_URL + path },
      { clientSecret: SECRET, userId: 1001 },
    );
    await send(path, signed);
    const token = signed.headers['flowdock-token'];
    const logs = t.logs.join('\n');
    expect(logs).toContain(path);
    expect(logs).not.toContain(token.split('.')[2]);
  });
});

function unsigned(path: string) {
  return signActionRequest(
    { name: 'Close', urlTemplate: PUBLIC_URL + path },
    { clientSecret: SECRET, userId: 1 },
  );
}

function withToken(signed: { headers: Record<string, string>; payload: string }, token: string) {
  return { ...signed, headers: { ...signed.headers, 'flowdock-token': token } };
}

function noneToken(path: string): string {
  const signed = unsigned(path);
  const claims = signed.headers['flowdock-token'].split('.')[1];
  return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${claims}.`;
}
