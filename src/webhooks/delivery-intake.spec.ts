import { examplePayload } from '../../sandbox/github/webhook-examples';
import { cleanText, intake } from './delivery-intake';

describe('intake (a verified delivery -> its inbox row)', () => {
  it('an item event names its thread and carries the mapped change', () => {
    const entry = intake('d1', 'pull_request', examplePayload('pull_request', 'opened'));
    expect(entry).toMatchObject({
      deliveryId: 'd1',
      event: 'pull_request',
      action: 'opened',
      repository: 'Codertocat/Hello-World',
      item: { kind: 'pull', number: 2 },
      outcome: null,
      work: { type: 'thread', event: { kind: 'pull_request.opened' } },
    });
  });

  it('keeps of the sender what threads and filters read, and fails a sender that is not an object', () => {
    const payload = examplePayload('pull_request', 'opened');
    const { sender } = payload;
    const work = intake('d1', 'pull_request', payload).work as { event: { sender: object } };
    expect(work.event.sender).toEqual({
      login: sender.login,
      type: sender.type,
      avatar_url: sender.avatar_url,
    });
    (payload as { sender: unknown }).sender = 'Codertocat';
    expect(intake('d1', 'pull_request', payload)).toMatchObject({
      outcome: 'failed',
      reason: expect.stringContaining('sender is not an object'),
      work: null,
    });
  });

  it('a CI event waits for its thread to be found by commit', () => {
    const entry = intake('d2', 'check_suite', examplePayload('check_suite', 'completed'));
    expect(entry.item).toBeNull();
    expect(entry.work).toMatchObject({
      type: 'ci',
      event: { target: { headSha: expect.any(String) } },
    });
  });

  it('ping and events the bridge does not show are settled on arrival', () => {
    expect(intake('d3', 'ping', examplePayload('ping'))).toMatchObject({
      outcome: 'ping',
      work: null,
    });
    expect(intake('d4', 'star', { action: 'created', sender: { login: 'x' } })).toMatchObject({
      outcome: 'unhandled',
      work: null,
    });
  });

  it('a revocation carries the GitHub user id; one without a usable id fails', () => {
    const payload = examplePayload('github_app_authorization', 'revoked');
    expect(intake('d5', 'github_app_authorization', payload).work).toEqual({
      type: 'revoke',
      githubUserId: payload.sender.id,
    });
    const bad = { ...payload, sender: { ...payload.sender, id: 'nobody' } };
    expect(intake('d6', 'github_app_authorization', bad)).toMatchObject({
      outcome: 'failed',
      reason: expect.stringContaining('sender.id'),
    });
  });

  it.each([
    ['labels a string', (p: Record<string, unknown>) => (p.labels = 'bug'), 'labels'],
    ['head null', (p: Record<string, unknown>) => (p.head = null), 'shape'],
    ['number a string', (p: Record<string, unknown>) => (p.number = '2'), 'number'],
    ['number too large', (p: Record<string, unknown>) => (p.number = 2 ** 40), 'number'],
    [
      'updated_at not a time',
      (p: Record<string, unknown>) => (p.updated_at = 'soon'),
      'updated_at',
    ],
    ['title an object', (p: Record<string, unknown>) => (p.title = { a: 1 }), 'title'],
  ])('a pull request with %s is settled as failed, with the reason', (_name, mutate, reason) => {
    const payload = examplePayload('pull_request', 'opened');
    mutate(payload.pull_request as unknown as Record<string, unknown>);
    const entry = intake('d7', 'pull_request', payload);
    expect(entry).toMatchObject({ outcome: 'failed', work: null });
    expect(entry.reason).toContain(reason);
  });

  it('never throws, whatever the payload', () => {
    for (const payload of [{}, { repository: null }, { sender: 7, repository: { full_name: 1 } }]) {
      for (const event of ['pull_request', 'issues', 'status', 'check_suite', 'issue_comment']) {
        expect(() => intake('d8', event, payload)).not.toThrow();
      }
    }
  });

  it('text PostgreSQL refuses (U+0000, lone surrogates) becomes U+FFFD everywhere in the change', () => {
    expect(cleanText('a\u0000b\ud800c\udc00d\ud83d\ude00')).toBe(
      'a\uFFFDb\uFFFDc\uFFFDd\ud83d\ude00',
    );
    const payload = examplePayload('issues', 'opened');
    payload.issue.title = 'x\u0000';
    payload.sender.login = 'bad\udfff';
    const entry = intake('d9', 'issues', payload);
    const text = JSON.stringify(entry.work);
    expect(text).not.toMatch(/\\u0000|\\ud[89a-f][0-9a-f]{2}/i);
    expect(text).toContain('x\uFFFD');
  });

  it('a failure reason quoting the payload is cleaned and bounded like its text', () => {
    // The mapper's TypeError names the value it met: here a string holding U+0000.
    const payload = examplePayload('pull_request', 'opened');
    (payload.pull_request as unknown as Record<string, unknown>).requested_reviewers = ['a\u0000b'];
    const entry = intake('d10', 'pull_request', payload);
    expect(entry.outcome).toBe('failed');
    expect(entry.reason).toContain('a\uFFFDb');
    expect(entry.reason).not.toContain('\u0000');

    const long = examplePayload('pull_request', 'opened');
    (long.pull_request as unknown as Record<string, unknown>).requested_reviewers = [
      `\ud800${'x'.repeat(10_000)}`,
    ];
    const cut = intake('d11', 'pull_request', long);
    expect(cut.reason!.length).toBeLessThanOrEqual(500);
    expect(cut.reason!.isWellFormed()).toBe(true);
  });
});
