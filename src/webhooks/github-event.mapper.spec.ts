import { examplePayload } from '../../sandbox/github/webhook-examples';
import { boundedText, MAX_TEXT_LENGTH, TRUNCATED_MARKER } from '../threads/bounded-text';
import { mapGitHubEvent } from './github-event.mapper';
import { isThreadKey, MappedEvent } from '../threads/github-event.types';
import { applyUpdate } from '../threads/thread-state';

/** The assignee or label an action names (absent from the union type of all actions). */
const named = (payload: object, key: 'assignee' | 'label'): { login?: string; name?: string } =>
  (payload as Record<string, { login?: string; name?: string }>)[key];

const map = (name: string, payload: object): MappedEvent => {
  const mapped = mapGitHubEvent(name, payload);
  if (!mapped) throw new Error(`${name} was not mapped`);
  return mapped;
};
const snapshotOf = (m: MappedEvent) => applyUpdate(null, m.update).thread.snapshot;
/** A comment's message: a discussion carrying the comment, by its sender. */
const commentMessage = (
  title: string,
  payload: { comment: { body: string }; sender: { login: string; avatar_url: string } },
) => ({
  event: 'discussion',
  title,
  body: payload.comment.body,
  author: { name: payload.sender.login, avatar: payload.sender.avatar_url },
});

describe('mapGitHubEvent: pull_request', () => {
  it('opened: an open, green-state thread with every field from the payload', () => {
    const payload = examplePayload('pull_request', 'opened');
    const m = map('pull_request', payload);
    expect(m.kind).toBe('pull_request.opened');
    expect(m.target).toEqual({ repository: 'Codertocat/Hello-World', kind: 'pull', number: 2 });
    expect(m.message).toEqual({
      event: 'activity',
      title: 'opened pull request',
      author: { name: 'Codertocat', avatar: payload.sender.avatar_url },
    });
    expect(snapshotOf(m)).toEqual({
      repository: 'Codertocat/Hello-World',
      kind: 'pull',
      number: 2,
      title: 'Update the README with new information.',
      body: 'This is a pretty simple change that we need to pull into master.',
      url: 'https://github.com/Codertocat/Hello-World/pull/2',
      state: 'open',
      author: 'Codertocat',
      assignees: [],
      reviewers: [],
      labels: [],
      branches: { head: 'changes', base: 'master' },
      headSha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
    });
  });

  it.each([
    ['edited', 'edited pull request'],
    ['reopened', 'reopened pull request'],
    ['ready_for_review', 'marked pull request ready for review'],
    ['converted_to_draft', 'converted pull request to draft'],
    ['synchronize', 'pushed new commits to changes'],
  ])('%s -> "%s"', (action, title) => {
    const m = map('pull_request', examplePayload('pull_request', action));
    expect(m.message?.title).toBe(title);
    expect(m.message?.event).toBe('activity');
  });

  it('closed without merge: red closed; with merge: purple merged', () => {
    const closed = examplePayload('pull_request', 'closed');
    expect(map('pull_request', closed).message?.title).toBe('closed pull request');
    expect(snapshotOf(map('pull_request', closed)).state).toBe('closed');

    const merged = examplePayload('pull_request', 'closed');
    merged.pull_request.merged = true;
    merged.pull_request.merged_at = merged.pull_request.closed_at;
    expect(map('pull_request', merged).message?.title).toBe('merged pull request');
    expect(snapshotOf(map('pull_request', merged)).state).toBe('merged');
  });

  it('converted_to_draft gives the draft state, ready_for_review the open state', () => {
    expect(
      snapshotOf(map('pull_request', examplePayload('pull_request', 'converted_to_draft'))).state,
    ).toBe('draft');
    expect(
      snapshotOf(map('pull_request', examplePayload('pull_request', 'ready_for_review'))).state,
    ).toBe('open');
  });

  it('assigned / unassigned name the assignee and list the assignees', () => {
    const assigned = examplePayload('pull_request', 'assigned');
    const m = map('pull_request', assigned);
    expect(m.message?.title).toBe(`assigned @${named(assigned, 'assignee').login}`);
    expect(snapshotOf(m).assignees).toEqual(assigned.pull_request.assignees.map((a) => a?.login));
    const unassigned = examplePayload('pull_request', 'unassigned');
    expect(map('pull_request', unassigned).message?.title).toBe(
      `unassigned @${named(unassigned, 'assignee').login}`,
    );
  });

  it('labeled / unlabeled name the label and list the labels', () => {
    const labeled = examplePayload('pull_request', 'labeled');
    const m = map('pull_request', labeled);
    expect(m.message?.title).toBe(`added label ${named(labeled, 'label').name}`);
    expect(snapshotOf(m).labels).toEqual(labeled.pull_request.labels.map((l) => l?.name));
    const unlabeled = examplePayload('pull_request', 'unlabeled');
    expect(map('pull_request', unlabeled).message?.title).toBe(
      `removed label ${named(unlabeled, 'label').name}`,
    );
  });

  it('review_requested names the reviewer and lists them as requested', () => {
    const payload = examplePayload('pull_request', 'review_requested');
    const m = map('pull_request', payload);
    expect(m.message?.title).toBe('requested review from @octocat');
    expect(snapshotOf(m).reviewers).toEqual(
      payload.pull_request.requested_reviewers.map((r) => ({
        login: 'login' in r ? r.login : r.name,
        state: 'requested',
      })),
    );
  });

  it('actions it does not show (locked) are not mapped', () => {
    expect(mapGitHubEvent('pull_request', examplePayload('pull_request', 'locked'))).toBeNull();
  });
});

describe('mapGitHubEvent: issues', () => {
  it('opened: an open issue thread', () => {
    const payload = examplePayload('issues', 'opened');
    const m = map('issues', payload);
    expect(m.message?.title).toBe('opened issue');
    expect(m.target).toEqual({
      repository: payload.repository.full_name,
      kind: 'issue',
      number: payload.issue.number,
    });
    const s = snapshotOf(m);
    expect(s).toMatchObject({
      kind: 'issue',
      state: 'open',
      title: payload.issue.title,
      url: payload.issue.html_url,
      author: payload.issue.user.login,
    });
    expect(s.branches).toBeUndefined();
  });

  it.each([
    ['edited', 'edited issue', 'open'],
    ['closed', 'closed issue', 'closed'],
    ['reopened', 'reopened issue', 'open'],
  ])('%s -> "%s", state %s', (action, title, state) => {
    const m = map('issues', examplePayload('issues', action));
    expect(m.message?.title).toBe(title);
    expect(snapshotOf(m).state).toBe(state);
  });

  it('assigned / unassigned / labeled / unlabeled', () => {
    for (const action of ['assigned', 'unassigned', 'labeled', 'unlabeled']) {
      const payload = examplePayload('issues', action);
      const m = map('issues', payload);
      const subject = action.endsWith('assigned')
        ? `@${named(payload, 'assignee').login}`
        : named(payload, 'label').name;
      const verb = {
        assigned: 'assigned',
        unassigned: 'unassigned',
        labeled: 'added label',
        unlabeled: 'removed label',
      }[action];
      expect(m.message?.title).toBe(`${verb} ${subject}`);
      expect(snapshotOf(m).assignees).toEqual(payload.issue.assignees.map((a) => a?.login));
      expect(snapshotOf(m).labels).toEqual((payload.issue.labels ?? []).map((l) => l?.name));
    }
  });
});

describe('mapGitHubEvent: reviews and comments', () => {
  it.each([
    ['approved', 'approved pull request'],
    ['changes_requested', 'requested changes'],
    ['commented', 'reviewed pull request'],
  ])('review %s -> a discussion "%s" and the reviewer state', (state, title) => {
    const payload = examplePayload('pull_request_review', 'submitted');
    payload.review.state = state as typeof payload.review.state;
    payload.review.body = 'Looks <b>good</b>';
    const m = map('pull_request_review', payload);
    expect(m.message).toMatchObject({ event: 'discussion', title, body: 'Looks <b>good</b>' });
    expect(snapshotOf(m).reviewers).toEqual([{ login: payload.review.user.login, state }]);
  });

  it('issue_comment is a discussion message carrying the comment', () => {
    const payload = examplePayload('issue_comment', 'created');
    const m = map('issue_comment', payload);
    expect(m.message).toEqual(commentMessage('commented', payload));
    expect(m.target).toMatchObject({ kind: 'issue', number: payload.issue.number });
  });

  it('issue_comment on a pull request targets the pull thread', () => {
    const payload = examplePayload('issue_comment', 'created');
    payload.issue.pull_request = { url: 'https://api.github.com/repos/x/y/pulls/1' };
    expect(map('issue_comment', payload).target).toMatchObject({ kind: 'pull' });
  });

  it('pull_request_review_comment is a discussion on the pull thread', () => {
    const payload = examplePayload('pull_request_review_comment', 'created');
    const m = map('pull_request_review_comment', payload);
    expect(m.message).toEqual(commentMessage('commented on the diff', payload));
    expect(m.target).toMatchObject({ kind: 'pull', number: payload.pull_request.number });
    expect(snapshotOf(m).branches).toEqual({
      head: payload.pull_request.head.ref,
      base: payload.pull_request.base.ref,
    });
  });

  it('edited and deleted comments are not shown', () => {
    expect(mapGitHubEvent('issue_comment', examplePayload('issue_comment', 'edited'))).toBeNull();
    expect(mapGitHubEvent('issue_comment', examplePayload('issue_comment', 'deleted'))).toBeNull();
  });
});

describe('mapGitHubEvent: CI', () => {
  it('check_suite completed -> a CI signal for the head commit', () => {
    const payload = examplePayload('check_suite', 'completed');
    const m = map('check_suite', payload);
    expect(isThreadKey(m.target)).toBe(false);
    expect(m.target).toEqual({
      repository: 'Codertocat/Hello-World',
      headSha: payload.check_suite.head_sha,
      numbers: [2],
    });
    expect(m.update).toMatchObject({
      type: 'ci',
      sha: payload.check_suite.head_sha,
      signal: { state: 'success' },
    });
  });

  it('check_suite requested is pending; a failed conclusion is failure', () => {
    expect(map('check_suite', examplePayload('check_suite', 'requested')).update).toMatchObject({
      signal: { state: 'pending' },
    });
    const failed = examplePayload('check_suite', 'completed');
    failed.check_suite.conclusion = 'failure';
    expect(map('check_suite', failed).update).toMatchObject({ signal: { state: 'failure' } });
  });

  it('status -> a CI signal per context with its link', () => {
    const payload = examplePayload('status');
    const m = map('status', payload);
    expect(m.update).toMatchObject({
      type: 'ci',
      sha: payload.sha,
      signal: { context: `status:${payload.context}`, state: payload.state },
    });
  });
});

describe('mapGitHubEvent: what it ignores', () => {
  it('events without a repository or sender, and unknown events', () => {
    expect(mapGitHubEvent('ping', examplePayload('ping'))).toBeNull();
    expect(
      mapGitHubEvent('star', {
        action: 'created',
        repository: { full_name: 'a/b' },
        sender: { login: 'x' },
      }),
    ).toBeNull();
  });
});

describe('HTML in titles, bodies, labels and branch names', () => {
  it('reaches the snapshot and message as raw text (rendering escapes it)', () => {
    const payload = examplePayload('pull_request', 'labeled');
    payload.pull_request.title = '<img src=x onerror=alert(1)>';
    payload.pull_request.body = '<script>alert(1)</script>';
    payload.pull_request.head.ref = 'feat/<b>x</b>';
    const label = named(payload, 'label') as (typeof payload.pull_request.labels)[number];
    label.name = '"><svg onload=alert(1)>';
    payload.pull_request.labels = [label];
    const m = map('pull_request', payload);
    const s = snapshotOf(m);
    expect(s.title).toBe('<img src=x onerror=alert(1)>');
    expect(s.body).toBe('<script>alert(1)</script>');
    expect(s.branches?.head).toBe('feat/<b>x</b>');
    expect(s.labels).toEqual(['"><svg onload=alert(1)>']);
    expect(m.message?.title).toBe('added label "><svg onload=alert(1)>');
  });
});

describe('GitHub text kept to what Flowdock shows', () => {
  const long = (n: number) => 'word '.repeat(n / 5);

  it('a body or comment over MAX_TEXT_LENGTH is cut, with the marker at its end', () => {
    const payload = examplePayload('pull_request', 'opened');
    payload.pull_request.body = long(100_000);
    const body = snapshotOf(map('pull_request', payload)).body!;
    expect(body.length).toBeLessThanOrEqual(MAX_TEXT_LENGTH);
    expect(body.endsWith(`\n\n${TRUNCATED_MARKER}`)).toBe(true);
    expect(body.startsWith('word word')).toBe(true);

    const comment = examplePayload('issue_comment', 'created');
    comment.comment.body = long(20_000);
    const message = map('issue_comment', comment).message as { body: string };
    expect(message.body.length).toBeLessThanOrEqual(MAX_TEXT_LENGTH);
    expect(message.body.endsWith(TRUNCATED_MARKER)).toBe(true);
  });

  it('text that fits is kept whole; a cut never splits a surrogate pair', () => {
    expect(boundedText('short')).toBe('short');
    const fits = 'x'.repeat(MAX_TEXT_LENGTH);
    expect(boundedText(fits)).toBe(fits);
    // One ASCII character first: the cut falls after the first half of a pair.
    const emoji = `a${'😀'.repeat(MAX_TEXT_LENGTH)}`;
    const cut = boundedText(emoji);
    expect(cut.length).toBeLessThanOrEqual(MAX_TEXT_LENGTH);
    expect(cut.isWellFormed()).toBe(true);
    expect(cut.replace(`\n\n${TRUNCATED_MARKER}`, '')).toMatch(/^a(😀)+$/u);
  });
});
