import { JwtService } from '@nestjs/jwt';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { itemPage, repositoryPage } from './deliveries-pages';
import { DELIVERIES_COOKIE, DeliveriesSessionService } from './deliveries-session.service';
import type { DeliveryEntry, SendEntry, SourceView } from './delivery-log.service';

const EVIL = `<img src=x onerror=alert(1)>"'`;
const viewer = { flowdockUserId: '1', name: EVIL, nick: 'eve', flows: [] };
const source: SourceView = {
  id: 'c0ffee00-0000-4000-8000-000000000000',
  flow: `acme/${EVIL}`,
  name: EVIL,
  disabledAt: new Date('2026-05-01T10:00:00Z'),
  disabledReason: EVIL,
  pausedUntil: null,
  streamRefusedAt: new Date('2026-05-02T10:00:00Z'),
  streamRefusedReason: EVIL,
};
const delivery: DeliveryEntry = {
  deliveryId: EVIL,
  event: 'pull_request',
  action: EVIL,
  sender: EVIL,
  itemKind: 'pull',
  itemNumber: 7,
  outcome: 'dropped',
  reason: EVIL,
  messages: 0,
  receivedAt: new Date('2026-05-01T10:00:00Z'),
  processedAt: null,
};
const send: SendEntry = {
  id: '12',
  externalThreadId: EVIL,
  source,
  title: EVIL,
  author: EVIL,
  status: 'dead',
  attempts: 3,
  lastError: EVIL,
  createdAt: new Date('2026-05-01T10:00:00Z'),
  sentAt: null,
  deadAt: new Date('2026-05-01T10:01:00Z'),
};

describe('delivery log pages', () => {
  it('escape everything GitHub, Flowdock or a subscription put into them', () => {
    const pages = [
      itemPage({
        viewer,
        repository: 'acme/widgets',
        number: 7,
        githubUrl: 'https://github.com',
        routes: [{ source, pattern: EVIL }],
        deliveries: [delivery],
        sends: [send],
        hiddenSends: 0,
        retentionDays: 14,
      }),
      repositoryPage({
        viewer,
        repository: 'acme/widgets',
        routes: [{ source, pattern: EVIL }],
        deliveries: [delivery],
        counts: { [EVIL]: 1 },
        limit: 200,
        retentionDays: 14,
      }),
    ];
    for (const html of pages) {
      expect(html).not.toContain('<img');
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;');
    }
    expect(pages[0]).toContain('rule: &lt;img');
    expect(pages[0]).toContain('deliveries redrive --id');
    // A source whose stream token Flowdock refused: its flow's replies are not heard, and how to mend it.
    for (const html of pages) {
      expect(html).toContain('replies not heard</span> since');
      expect(html).toContain(`sources stream-token ${source.id}`);
    }
  });
});

describe('DeliveriesSessionService', () => {
  const jwt = new JwtService({ secret: 'a-test-secret-of-some-length-0123456789' });
  const sessions = new DeliveriesSessionService(
    jwt,
    new ConfigService({ publicUrl: 'https://bridge.example.com' }),
  );

  async function start(flows: string[]) {
    const cookies: { name: string; value: string; options: Record<string, unknown> }[] = [];
    const reply = {
      setCookie: (name: string, value: string, options: Record<string, unknown>) =>
        cookies.push({ name, value, options }),
    } as unknown as FastifyReply;
    await sessions.start(reply, { flowdockUserId: '42', name: 'Ann', nick: 'ann', flows });
    return cookies[0];
  }

  it('sets a short, HttpOnly, SameSite=Lax, Secure cookie for /deliveries that reads back', async () => {
    const cookie = await start(['acme/main']);
    expect(cookie.name).toBe(DELIVERIES_COOKIE);
    expect(cookie.options).toEqual({
      httpOnly: true,
      secure: true,
      sameSite: 'lax',
      path: '/deliveries',
      maxAge: 900,
    });
    const request = { cookies: { [DELIVERIES_COOKIE]: cookie.value } } as unknown as FastifyRequest;
    await expect(sessions.read(request)).resolves.toEqual({
      flowdockUserId: '42',
      name: 'Ann',
      nick: 'ann',
      flows: ['acme/main'],
    });
  });

  it('keeps the cookie under 4 KB when the user is in very many of the bridge flows', async () => {
    const flows = Array.from({ length: 500 }, (_, i) => `organization-${i}/flow-${i}`);
    const cookie = await start(flows);
    expect(cookie.value.length).toBeLessThan(3_600);
    const request = { cookies: { [DELIVERIES_COOKIE]: cookie.value } } as unknown as FastifyRequest;
    const session = await sessions.read(request);
    expect(session!.flows.length).toBeGreaterThan(10);
    expect(flows.slice(0, session!.flows.length)).toEqual(session!.flows);
  });

  it('refuses a token of another audience or secret', async () => {
    const other = await jwt.signAsync(
      { user: '42', name: 'Ann', nick: 'ann', flows: [] },
      { audience: 'flowdock-github-bridge:account-session' },
    );
    const request = { cookies: { [DELIVERIES_COOKIE]: other } } as unknown as FastifyRequest;
    await expect(sessions.read(request)).resolves.toBeNull();
  });
});
