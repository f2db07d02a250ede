import { examplePayload } from '../../sandbox/github/webhook-examples';
import { mapGitHubEvent } from '../webhooks/github-event.mapper';
import { ThreadUpdate } from './github-event.types';
import { applyUpdate, StoredThread } from './thread-state';

const update = (name: string, payload: object): ThreadUpdate =>
  mapGitHubEvent(name, payload)!.update;

const opened = (): StoredThread =>
  applyUpdate(null, update('pull_request', examplePayload('pull_request', 'opened'))).thread;

const at = <P extends { pull_request: { updated_at: string } }>(payload: P, iso: string): P => {
  payload.pull_request.updated_at = iso;
  return payload;
};

describe('applyUpdate', () => {
  it('an older payload arriving late does not move the snapshot back', () => {
    const closed = at(examplePayload('pull_request', 'closed'), '2030-01-01T10:00:05Z');
    const afterClose = applyUpdate(opened(), update('pull_request', closed));
    expect(afterClose.thread.snapshot.state).toBe('closed');

    const late = at(examplePayload('pull_request', 'reopened'), '2030-01-01T10:00:01Z');
    const result = applyUpdate(afterClose.thread, update('pull_request', late));
    expect(result.stale).toBe(true);
    expect(result.thread.snapshot.state).toBe('closed');
    expect(result.thread.itemUpdatedAt).toBe('2030-01-01T10:00:05Z');
  });

  it('a newer payload applies; equal times apply in arrival order', () => {
    const base = applyUpdate(
      null,
      update('pull_request', at(examplePayload('pull_request', 'opened'), '2030-01-01T10:00:00Z')),
    ).thread;
    const closed = at(examplePayload('pull_request', 'closed'), '2030-01-01T10:00:00Z');
    expect(applyUpdate(base, update('pull_request', closed)).thread.snapshot.state).toBe('closed');
  });

  it('review verdicts accumulate and survive later pull_request payloads', () => {
    const review = examplePayload('pull_request_review', 'submitted');
    review.review.state = 'approved';
    review.review.user.login = 'monalisa';
    let thread = applyUpdate(opened(), update('pull_request_review', review)).thread;
    expect(thread.snapshot.reviewers).toEqual([{ login: 'monalisa', state: 'approved' }]);

    // A later comment-only review does not withdraw the approval.
    review.review.state = 'commented';
    thread = applyUpdate(thread, update('pull_request_review', review)).thread;
    expect(thread.snapshot.reviewers).toEqual([{ login: 'monalisa', state: 'approved' }]);

    const requested = examplePayload('pull_request', 'review_requested');
    requested.pull_request.updated_at = '2099-01-01T00:00:00Z';
    thread = applyUpdate(thread, update('pull_request', requested)).thread;
    expect(thread.snapshot.reviewers).toEqual([
      { login: 'monalisa', state: 'approved' },
      { login: 'octocat', state: 'requested' },
    ]);

    const dismissed = examplePayload('pull_request_review', 'dismissed');
    dismissed.review.user.login = 'monalisa';
    thread = applyUpdate(thread, update('pull_request_review', dismissed)).thread;
    expect(thread.snapshot.reviewers).toEqual([{ login: 'octocat', state: 'requested' }]);
  });

  it('CI: the worst context wins, older signals are ignored, a new head clears it', () => {
    let thread = opened();
    const sha = thread.snapshot.headSha!;
    const suite = examplePayload('check_suite', 'completed');
    suite.check_suite.head_sha = sha;
    suite.check_suite.updated_at = '2030-01-01T10:00:00Z';
    let result = applyUpdate(thread, update('check_suite', suite));
    expect(result.ciChanged).toBe(true);
    expect(result.thread.snapshot.ci?.state).toBe('success');
    thread = result.thread;

    const status = examplePayload('status');
    Object.assign(status, {
      sha,
      state: 'failure',
      updated_at: '2030-01-01T10:00:01Z',
      context: 'ci/lint',
    });
    result = applyUpdate(thread, update('status', status));
    expect(result.thread.snapshot.ci).toMatchObject({
      state: 'failure',
      description: expect.stringContaining('ci/lint'),
    });
    thread = result.thread;

    const older = { ...status, state: 'success', updated_at: '2030-01-01T09:00:00Z' };
    result = applyUpdate(thread, update('status', older));
    expect(result.stale).toBe(true);
    expect(result.thread.snapshot.ci?.state).toBe('failure');

    const otherCommit = {
      ...status,
      sha: 'f'.repeat(40),
      state: 'success',
      updated_at: '2030-01-02T00:00:00Z',
    };
    expect(applyUpdate(thread, update('status', otherCommit)).stale).toBe(true);

    const pushed = examplePayload('pull_request', 'synchronize');
    pushed.pull_request.head.sha = 'a'.repeat(40);
    pushed.pull_request.updated_at = '2099-01-01T00:00:00Z';
    const afterPush = applyUpdate(thread, update('pull_request', pushed)).thread;
    expect(afterPush.snapshot.ci).toBeUndefined();
    expect(afterPush.ci).toEqual({});
  });

  it('an issue_comment on a merged pull request keeps it merged and keeps its branches', () => {
    const merged = examplePayload('pull_request', 'closed');
    merged.pull_request.merged = true;
    let thread = applyUpdate(null, update('pull_request', merged)).thread;
    const comment = examplePayload('issue_comment', 'created');
    comment.issue.pull_request = {};
    comment.issue.number = thread.snapshot.number;
    comment.issue.state = 'closed';
    comment.issue.title = 'Renamed';
    comment.issue.updated_at = '2099-01-01T00:00:00Z';
    thread = applyUpdate(thread, update('issue_comment', comment)).thread;
    expect(thread.snapshot).toMatchObject({
      state: 'merged',
      title: 'Renamed',
      branches: { head: 'changes' },
    });
  });
});
