import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  signActionRequest,
  signFlowdockToken,
} from '../../sandbox/flowdock/flowdock-action-signer';
import { AppConfig } from '../config/app.config';
import { FlowdockActionVerifier } from './flowdock-action.verifier';

const SECRET = 'flowdock-client-secret-for-the-verifier-spec';
const PUBLIC_URL = 'https://bridge.example.com';
const PATH = '/flowdock/actions/acme/widgets/pulls/7/close';
const URL_TEMPLATE = PUBLIC_URL + PATH;

const config = {
  publicUrl: PUBLIC_URL,
  flowdock: { clientSecret: SECRET },
} as unknown as AppConfig;
const verifier = new FlowdockActionVerifier(
  new JwtService({}),
  new ConfigService<AppConfig, true>(config),
);

const now = Math.floor(Date.now() / 1000);
const digest = (text: string) => createHash('sha256').update(text).digest('hex');

function request(token: string | undefined, payload: string, path = PATH) {
  return { token, rawBody: Buffer.from(payload), path };
}

function status(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as { getStatus?: () => number }).getStatus?.();
  }
}

describe('FlowdockActionVerifier', () => {
  const signed = signActionRequest(
    { name: 'Close', urlTemplate: URL_TEMPLATE, agent: { name: 'Alice' } },
    { clientSecret: SECRET, userId: 1001 },
  );
  const body = signed.payload;
  const claims = { sub: '1001', exp: now + 30, signature: digest(body) };

  it('accepts a request signed as Flowdock signs it and returns the user and action', () => {
    const result = verifier.verify(request(signed.headers['flowdock-token'], body));
    expect(result.userId).toBe('1001');
    expect(result.action).toEqual({
      name: 'Close',
      urlTemplate: URL_TEMPLATE,
      agent: { '@type': 'Person', name: 'Alice' },
    });
    expect(result.expiresAt).toBe(claims.exp);
  });

  it('accepts a numeric sub as a string', () => {
    const token = signFlowdockToken({ ...claims, sub: 1003 }, SECRET);
    expect(verifier.verify(request(token, body)).userId).toBe('1003');
  });

  it('accepts a token expired within the clock tolerance', () => {
    const token = signFlowdockToken({ ...claims, exp: now - 3 }, SECRET);
    expect(verifier.verify(request(token, body)).userId).toBe('1001');
  });

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rs256 = new JwtService({}).sign(claims, { privateKey, algorithm: 'RS256' });
  const hs512 = new JwtService({}).sign(claims, { secret: SECRET, algorithm: 'HS512' });
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
    JSON.stringify(claims),
  ).toString('base64url')}.`;

  it.each<[string, string | undefined, number]>([
    ['a missing header', undefined, 401],
    ['an empty header', '', 401],
    ['a malformed token', 'not.a.jwt', 401],
    ['garbage', 'xyz', 401],
    ['alg none', none, 401],
    [
      'an alg none header carrying an HMAC',
      signFlowdockToken(claims, SECRET, { alg: 'none' }),
      401,
    ],
    ['HS512', hs512, 401],
    ['RS256', rs256, 401],
    ['a wrong secret', signFlowdockToken(claims, 'another-secret'), 401],
    [
      'a claim token of the bridge (other secret, audience)',
      signFlowdockToken({ user: '1001', exp: now + 900, jti: 'j', aud: 'claim' }, 'cookie-secret'),
      401,
    ],
    [
      'our own claim shape signed with the client secret',
      signFlowdockToken({ ...claims, aud: 'flowdock-github-bridge:claim' }, SECRET),
      401,
    ],
    ['an expired token', signFlowdockToken({ ...claims, exp: now - 60 }, SECRET), 401],
    ['a far-future exp', signFlowdockToken({ ...claims, exp: now + 3600 }, SECRET), 401],
    ['no exp', signFlowdockToken({ sub: '1001', signature: claims.signature }, SECRET), 401],
    ['no sub', signFlowdockToken({ exp: claims.exp, signature: claims.signature }, SECRET), 401],
    ['an empty sub', signFlowdockToken({ ...claims, sub: '' }, SECRET), 401],
    ['no signature', signFlowdockToken({ sub: '1001', exp: claims.exp }, SECRET), 401],
    ['a non-string signature', signFlowdockToken({ ...claims, signature: 42 }, SECRET), 401],
    [
      'an upper-case digest',
      signFlowdockToken({ ...claims, signature: claims.signature.toUpperCase() }, SECRET),
      403,
    ],
    [
      'the digest of another body',
      signFlowdockToken({ ...claims, signature: digest(`${body} `) }, SECRET),
      403,
    ],
  ])('refuses %s', (_label, token, expected) => {
    expect(status(() => verifier.verify(request(token, body)))).toBe(expected);
  });

  it('refuses a tampered body with 403', () => {
    const tampered = body.replace('Close', 'Reopen');
    expect(status(() => verifier.verify(request(signed.headers['flowdock-token'], tampered)))).toBe(
      403,
    );
  });

  it('refuses a signed body replayed against another URL with 403', () => {
    const other = '/flowdock/actions/acme/widgets/pulls/8/close';
    expect(
      status(() => verifier.verify(request(signed.headers['flowdock-token'], body, other))),
    ).toBe(403);
    const query = `${PATH}?x=1`;
    expect(
      status(() => verifier.verify(request(signed.headers['flowdock-token'], body, query))),
    ).toBe(403);
  });

  it.each([
    ['not JSON', 'not json'],
    ['a JSON array', '[]'],
    ['no target', JSON.stringify({ name: 'Close' })],
    ['no name', JSON.stringify({ target: { urlTemplate: URL_TEMPLATE } })],
  ])('refuses a correctly signed body that is %s with 400', (_label, payload) => {
    const token = signFlowdockToken({ ...claims, signature: digest(payload) }, SECRET);
    expect(status(() => verifier.verify(request(token, payload)))).toBe(400);
  });

  it('ignores agent fields other than @type, name and image', () => {
    const payload = JSON.stringify({
      name: 'Close',
      agent: { name: 'A', image: 'https://i', admin: true },
      target: { urlTemplate: URL_TEMPLATE },
    });
    const token = signFlowdockToken({ ...claims, signature: digest(payload) }, SECRET);
    expect(verifier.verify(request(token, payload)).action.agent).toEqual({
      name: 'A',
      image: 'https://i',
    });
  });
});
