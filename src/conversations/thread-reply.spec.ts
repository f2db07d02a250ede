import { BRIDGE_UUID_PREFIX, threadReplyOf } from './thread-reply';

/** A user's chat message in a thread, as Flowdock's message types show one (plus thread_id). */
const reply = (over: Record<string, unknown> = {}) => ({
  app: 'chat',
  event: 'message',
  tags: [],
  uuid: '4W_LQEybVaX-gJmi',
  id: 45590,
  flow: 'deadbeefdeadbeef',
  content: 'Looks good, *merging* <soon>',
  sent: 1317715340213,
  attachments: [],
  user: '2',
  created_at: '2011-10-04T08:02:20.213Z',
  thread_id: 'HbjDdeOqrZm6QzlSO8rwtftzwts',
  ...over,
});

describe('threadReplyOf', () => {
  it('reads a person’s message in a thread, text unchanged', () => {
    expect(threadReplyOf(reply(), 'acme/main')).toEqual({
      flow: 'deadbeefdeadbeef',
      messageId: '45590',
      threadId: 'HbjDdeOqrZm6QzlSO8rwtftzwts',
      userId: '2',
      content: 'Looks good, *merging* <soon>',
    });
  });

  it('reads a comment’s text and falls back to the stream’s flow', () => {
    const comment = reply({ event: 'comment', content: { title: 'T', text: 'a comment' } });
    delete (comment as Record<string, unknown>).flow;
    expect(threadReplyOf(comment, 'acme/main')).toMatchObject({
      flow: 'acme/main',
      content: 'a comment',
      userId: '2',
    });
    expect(threadReplyOf(reply({ user: 7 }), 'acme/main')?.userId).toBe('7');
  });

  it.each([
    ['the bridge’s own activity', { event: 'activity', app: 'influx', user: '0', content: null }],
    ['a discussion (GitHub comment) it posted', { event: 'discussion', user: '0' }],
    ['an integration’s message (user 0)', { user: '0' }],
    ['an integration’s message (no user)', { user: undefined }],
    ['an integration’s message (app influx)', { app: 'influx', user: '5' }],
    ['an anonymous Push API message', { external_user_name: 'Deploy bot' }],
    ['a message with an author (integration)', { author: { name: 'ci' } }],
    ['the bridge’s own notice', { uuid: `${BRIDGE_UUID_PREFIX}notice:x:1` }],
    ['a message outside threads', { thread_id: undefined }],
    ['a status change', { event: 'status' }],
    ['a tag change', { event: 'tag-change', content: { message: 1, add: ['x'] } }],
    ['an empty message', { content: '   ' }],
    ['a message without id', { id: undefined }],
    ['a user id that is not a number', { user: 'alice' }],
  ])('ignores %s', (_what, over) => {
    expect(threadReplyOf(reply(over), 'acme/main')).toBeUndefined();
  });

  it('ignores what is not a message object', () => {
    for (const value of [null, 'text', 42, [reply()]]) {
      expect(threadReplyOf(value, 'acme/main')).toBeUndefined();
    }
  });
});
