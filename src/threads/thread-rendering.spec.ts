import { markdownToSafeHtml } from './safe-html';
import { actionUrl } from './thread-actions';
import { renderMessage, renderThread, threadStatus } from './thread-rendering';
import { ThreadSnapshot } from './thread-snapshot';

const PUBLIC_URL = 'https://bridge.example.com';

const pull: ThreadSnapshot = {
  repository: 'acme/widgets',
  kind: 'pull',
  number: 42,
  title: 'Add sprockets',
  body: 'Fixes **everything**',
  url: 'https://github.com/acme/widgets/pull/42',
  state: 'open',
  author: 'octocat',
  assignees: ['hubot'],
  reviewers: [{ login: 'monalisa', state: 'changes_requested' }],
  labels: ['bug', 'p1'],
  branches: { head: 'feature/sprockets', base: 'main' },
  headSha: 'abc123',
  ci: { state: 'success', description: 'All checks passed', url: 'https://ci.example.com/1' },
};

const issue: ThreadSnapshot = {
  repository: 'acme/widgets',
  kind: 'issue',
  number: 7,
  title: 'Widgets wobble',
  body: null,
  url: 'https://github.com/acme/widgets/issues/7',
  state: 'open',
  author: 'hubot',
  assignees: [],
  reviewers: [],
  labels: [],
};

const names = (s: ThreadSnapshot) => renderThread(s, PUBLIC_URL).actions?.map((a) => a.name);

describe('thread status', () => {
  it.each<[ThreadSnapshot['kind'], ThreadSnapshot['state'], string, string]>([
    ['pull', 'open', 'green', 'open'],
    ['pull', 'draft', 'grey', 'draft'],
    ['pull', 'merged', 'purple', 'merged'],
    ['pull', 'closed', 'red', 'closed'],
    ['issue', 'open', 'green', 'open'],
    ['issue', 'closed', 'grey', 'closed'],
  ])('%s %s is %s "%s"', (kind, state, color, value) => {
    expect(threadStatus({ kind, state })).toEqual({ color, value });
  });
});

describe('thread actions', () => {
  it.each([
    [
      'open PR: assign, unassign, close, approve, merge, refresh, View diff and the delivery log',
      pull,
      [
        'Assign to me',
        'Unassign me',
        'Close',
        'Approve',
        'Merge',
        'Refresh',
        'View diff',
        'Delivery log',
      ],
    ],
    [
      'draft PR: like an open one, without approve and merge',
      { ...pull, state: 'draft' },
      ['Assign to me', 'Unassign me', 'Close', 'Refresh', 'View diff', 'Delivery log'],
    ],
    [
      'open issue: assign, unassign, close, refresh, no diff',
      issue,
      ['Assign to me', 'Unassign me', 'Close', 'Refresh', 'Delivery log'],
    ],
    [
      'closed PR: Reopen, Refresh and the delivery log',
      { ...pull, state: 'closed' },
      ['Reopen', 'Refresh', 'Delivery log'],
    ],
    [
      'closed issue: Reopen, Refresh and the delivery log',
      { ...issue, state: 'closed' },
      ['Reopen', 'Refresh', 'Delivery log'],
    ],
    [
      'merged PR: Refresh, View diff and the delivery log',
      { ...pull, state: 'merged' },
      ['Refresh', 'View diff', 'Delivery log'],
    ],
  ] satisfies [string, ThreadSnapshot, string[]][])('%s', (_what, snapshot, actions) => {
    expect(names(snapshot)).toEqual(actions);
  });
  it('"Delivery log" is a ViewAction to the item\'s page of the bridge', () => {
    const last = (s: ThreadSnapshot) => renderThread(s, PUBLIC_URL).actions?.at(-1);
    expect(last(pull)).toEqual({
      '@type': 'ViewAction',
      name: 'Delivery log',
      url: 'https://bridge.example.com/deliveries/acme/widgets/42',
      description: expect.any(String),
    });
    expect(last({ ...issue, state: 'closed' })).toMatchObject({
      url: 'https://bridge.example.com/deliveries/acme/widgets/7',
    });
  });
  it('UpdateActions target the bridge action URL as an EntryPoint POST', () => {
    const actions = renderThread(pull, PUBLIC_URL).actions ?? [];
    expect(actions[2]).toEqual({
      '@type': 'UpdateAction',
      name: 'Close',
      target: {
        '@type': 'EntryPoint',
        urlTemplate: 'https://bridge.example.com/flowdock/actions/acme/widgets/pulls/42/close',
        httpMethod: 'POST',
      },
    });
    expect(actions[6]).toMatchObject({
      '@type': 'ViewAction',
      url: 'https://github.com/acme/widgets/pull/42/files',
    });
    expect(actionUrl(PUBLIC_URL, issue, 'reopen')).toBe(
      'https://bridge.example.com/flowdock/actions/acme/widgets/issues/7/reopen',
    );
  });
});

describe('renderThread', () => {
  const thread = renderThread(pull, PUBLIC_URL);

  it('title: escaped title and number', () => {
    expect(thread.title).toBe('#42 Add sprockets');
  });
  it('body: Markdown as HTML', () => {
    expect(thread.body).toBe('<p>Fixes <strong>everything</strong></p>');
    expect(renderThread(issue, PUBLIC_URL).body).toBe('');
  });
  it('external_url: the GitHub page', () => {
    expect(thread.external_url).toBe('https://github.com/acme/widgets/pull/42');
  });
  it('fields: repository, author, assignees, reviewers, labels, branches, CI', () => {
    expect(thread.fields).toEqual([
      {
        label: 'Repository',
        value:
          '<a href="https://github.com/acme/widgets" rel="nofollow noopener noreferrer">acme/widgets</a>',
      },
      {
        label: 'Author',
        value:
          '<a href="https://github.com/octocat" rel="nofollow noopener noreferrer">octocat</a>',
      },
      {
        label: 'Assignees',
        value: '<a href="https://github.com/hubot" rel="nofollow noopener noreferrer">hubot</a>',
      },
      {
        label: 'Reviewers',
        value:
          '<a href="https://github.com/monalisa" rel="nofollow noopener noreferrer">monalisa</a> (changes requested)',
      },
      { label: 'Labels', value: 'bug, p1' },
      { label: 'Branches', value: 'feature/sprockets → main' },
      {
        label: 'CI',
        value:
          '<a href="https://ci.example.com/1" rel="nofollow noopener noreferrer">success: All checks passed</a>',
      },
    ]);
  });
  it('fields of an issue without assignees say none and skip PR-only fields', () => {
    expect(renderThread(issue, PUBLIC_URL).fields?.map((f) => [f.label, f.value])).toEqual([
      ['Repository', expect.stringContaining('acme/widgets')],
      ['Author', expect.stringContaining('hubot')],
      ['Assignees', 'none'],
    ]);
  });
});

describe('untrusted text from GitHub', () => {
  const evil = '<img src=x onerror=alert(1)>';
  const hostile: ThreadSnapshot = {
    ...pull,
    title: evil,
    body: `${evil}\n\n<script>alert(2)</script> [x](javascript:alert(3)) <a href="javascript:alert(4)">y</a>`,
    labels: ['<b>l</b>'],
    assignees: ['"><script>'],
    branches: { head: '<i>h</i>', base: 'main' },
    ci: { state: 'failure', description: '<svg onload=alert(5)>', url: 'javascript:alert(6)' },
  };
  const thread = renderThread(hostile, PUBLIC_URL);
  const all = JSON.stringify(thread);

  it('a title with markup arrives as text', () => {
    expect(thread.title).toBe('#42 &lt;img src=x onerror=alert(1)&gt;');
  });
  it('no tag or handler from GitHub survives anywhere', () => {
    expect(all).not.toMatch(/<(img|script|svg|b|i)[\s>]/i);
    // The text may mention javascript:, but never as a link.
    expect(all).not.toMatch(/<a[^>]*javascript/i);
  });
  it('the body keeps the text, escaped', () => {
    expect(thread.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(thread.body).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
  });
  it('field values are text or our own links', () => {
    const labels = thread.fields?.find((f) => f.label === 'Labels');
    expect(labels?.value).toBe('&lt;b&gt;l&lt;/b&gt;');
    const ci = thread.fields?.find((f) => f.label === 'CI');
    expect(ci?.value).toBe('failure: &lt;svg onload=alert(5)&gt;');
  });
  it('a non-http external URL is left out', () => {
    expect(
      renderThread({ ...pull, url: 'javascript:alert(1)' }, PUBLIC_URL).external_url,
    ).toBeUndefined();
  });
  it('sanitizes raw HTML links even if Markdown let them through', () => {
    expect(markdownToSafeHtml('[ok](https://example.com/a)')).toBe(
      '<p><a href="https://example.com/a" rel="nofollow noopener noreferrer">ok</a></p>',
    );
  });
  it('clips very long bodies', () => {
    expect(markdownToSafeHtml('a'.repeat(50_000)).length).toBeLessThan(10_100);
  });
});

describe('renderMessage', () => {
  it('an activity carries the event, author, escaped title, thread id, uuid and the thread', () => {
    const message = renderMessage(
      {
        event: 'activity',
        author: { name: 'octocat', avatar: 'https://a/1' },
        title: 'closed <it>',
      },
      { ...pull, state: 'closed' },
      'uuid-1',
      PUBLIC_URL,
    );
    expect(message).toMatchObject({
      event: 'activity',
      author: { name: 'octocat', avatar: 'https://a/1' },
      title: 'closed &lt;it&gt;',
      external_thread_id: 'github:acme/widgets:pull:42',
      uuid: 'uuid-1',
      thread: { status: { color: 'red', value: 'closed' } },
    });
    expect(message.body).toBeUndefined();
  });
  it('a discussion carries the comment as safe HTML; a bad avatar is dropped', () => {
    const message = renderMessage(
      {
        event: 'discussion',
        author: { name: 'hubot', avatar: 'javascript:x' },
        title: 'commented',
        body: '*hi*',
      },
      issue,
      'uuid-2',
      PUBLIC_URL,
    );
    expect(message.body).toBe('<p><em>hi</em></p>');
    expect(message.author).toEqual({ name: 'hubot' });
  });
});
