import examples from '@octokit/webhooks-examples';
import fc from 'fast-check';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { signedWebhook } from '../sandbox/github/webhook-sender';
import { SubscriptionService } from '../src/subscriptions/subscription.service';
import { startTestApp, testEnvironment, TestApp } from './support/test-app';
import { postWebhook } from './support/webhook-requests';

const SECRET = 'fuzz-webhook-secret-0123456789abcdef';
/** The events the bridge reads, with every official example payload of each. */
const EVENTS = [
  'pull_request',
  'issues',
  'issue_comment',
  'pull_request_review',
  'pull_request_review_comment',
  'check_suite',
  'status',
  'ping',
  'github_app_authorization',
];
const EXAMPLES = (examples as unknown as { name: string; examples: object[] }[])
  .filter((definition) => EVENTS.includes(definition.name))
  .flatMap((definition) =>
    definition.examples.map((payload) => ({ event: definition.name, payload })),
  );

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

/** Every path into a payload (objects and arrays included), down to `depth`. */
function pathsOf(value: Json, depth = 6, prefix: Path = []): Path[] {
  if (depth === 0 || value === null || typeof value !== 'object') return [];
  const keys: (string | number)[] = Array.isArray(value)
    ? value.map((_, i) => i)
    : Object.keys(value);
  return keys.flatMap((key) => {
    const path = [...prefix, key];
    const child = (value as Record<string | number, Json>)[key];
    return [path, ...pathsOf(child, depth - 1, path)];
  });
}

function setAt(root: Json, path: Path, replacement: Json): void {
  let node = root as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  node[path[path.length - 1]] = replacement;
}

const nested = (depth: number): Json => (depth === 0 ? 'bottom' : [nested(depth - 1)]);

/** What a hostile or broken sender could put in place of any value. */
const replacement: fc.Arbitrary<Json> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 2 ** 53, 1e308),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '', ' ', 'not a time', '<script>'),
  fc.constant('x'.repeat(200_000)),
  fc.constant(nested(500)),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.constant(null)), {
    maxKeys: 3,
  }),
);

/**
 * Every real example payload of the events the bridge reads, mutated at any
 * depth (types, nulls, huge strings, U+0000, lone surrogates, deep nesting)
 * and correctly signed: never a 5xx, never an unhandled rejection, every
 * accepted delivery settled by the processor, the bridge still ready.
 */
describe('mutated GitHub payloads, correctly signed', () => {
  jest.setTimeout(180_000);
  let t: TestApp;
  let db: DataSource;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  const owner = `fuzz${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    t = await startTestApp(testEnvironment({ GITHUB_WEBHOOK_SECRET: SECRET }));
    db = t.app.get(DataSource);
    // Deliveries reach threads and messages, not only the inbox.
    await t.app
      .get(SubscriptionService)
      .add({ repositoryPattern: `${owner}/*`, flowToken: `flow-${randomUUID()}` });
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await t?.app.close();
  });

  it('answer 2xx or 4xx, and are all processed', async () => {
    const accepted: string[] = [];
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...EXAMPLES),
        fc.array(fc.tuple(fc.nat(), replacement), { minLength: 1, maxLength: 3 }),
        fc.nat(4),
        async ({ event, payload }, mutations, item) => {
          const body = structuredClone(payload) as Json & {
            repository?: { full_name?: unknown };
          };
          if (body.repository && typeof body.repository === 'object')
            body.repository.full_name = `${owner}/repo${item}`;
          for (const [pick, value] of mutations) {
            // Paths of the payload as the previous mutations left it.
            const paths = pathsOf(body);
            // A copy: fast-check reuses its values, and one inserted twice would make a cycle.
            if (paths.length > 0) setAt(body, paths[pick % paths.length], structuredClone(value));
          }
          const webhook = signedWebhook(SECRET, event, body);
          const res = await postWebhook(t.app, webhook);
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          expect(res.statusCode).toBeLessThan(500);
          if (res.statusCode === 202) accepted.push(webhook.deliveryId);
        },
      ),
      { numRuns: 500, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
    // Most mutations leave a payload GitHub could send: they are accepted.
    expect(accepted.length).toBeGreaterThan(100);

    const deadline = Date.now() + 60_000;
    let pending = accepted.length;
    while (pending > 0 && Date.now() < deadline) {
      const [row] = await db.query<{ pending: number }[]>(
        `SELECT count(*)::int AS pending FROM github_webhook_delivery
         WHERE delivery_id = ANY($1) AND processed_at IS NULL`,
        [accepted],
      );
      pending = row.pending;
      if (pending > 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(pending).toBe(0);
    const outcomes = await db.query<{ outcome: string; n: number }[]>(
      `SELECT outcome, count(*)::int AS n FROM github_webhook_delivery
       WHERE delivery_id = ANY($1) GROUP BY 1 ORDER BY 1`,
      [accepted],
    );
    expect(outcomes.reduce((sum, o) => sum + o.n, 0)).toBe(accepted.length);
    expect(rejections).toEqual([]);
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
  });
});
