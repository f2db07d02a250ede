import {
  EventFacts,
  isBot,
  ItemFacts,
  lateMatch,
  matchesRepository,
  matchesUser,
  patternProblem,
  rejection,
  route,
  SubscriptionRules,
  userPatternProblem,
} from './subscription-matcher';

const base: SubscriptionRules = {
  repositoryPattern: 'octo-org/*',
  eventKinds: [],
  ignoreBots: false,
  requiredLabels: [],
  excludeLabels: [],
  excludeUsers: [],
  drafts: 'announce',
};
const item: ItemFacts = { labels: ['bug', 'Frontend'], draft: false, author: 'octocat' };
const event: EventFacts = {
  repository: 'octo-org/hello',
  kind: 'pull_request.opened',
  sender: { login: 'octocat', type: 'User' },
  item,
  before: null,
};
/** The same item changed by an event: `before` as it was, `item` as it is. */
const changed = (
  before: Partial<ItemFacts>,
  after: Partial<ItemFacts>,
  kind = 'pull_request.labeled',
) => ({
  ...event,
  kind,
  before: { ...item, ...before },
  item: { ...item, ...after },
});

describe('subscription matching', () => {
  it('owner/repo matches that repository only, case-insensitively', () => {
    expect(matchesRepository('Octo-Org/Hello', 'octo-org/hello')).toBe(true);
    expect(matchesRepository('octo-org/hello', 'octo-org/hello-world')).toBe(false);
    expect(matchesRepository('octo-org/hello', 'other/hello')).toBe(false);
  });

  it('owner/* matches every repository of that owner and no other', () => {
    expect(matchesRepository('octo-org/*', 'octo-org/anything')).toBe(true);
    expect(matchesRepository('octo-org/*', 'octo-orgx/anything')).toBe(false);
  });

  it('patterns are validated', () => {
    expect(patternProblem('octo-org/*')).toBeNull();
    expect(patternProblem('octo-org/hello.js')).toBeNull();
    expect(patternProblem('octo-org')).toMatch(/owner\/repo or owner\/\*/);
    expect(patternProblem('*/*')).not.toBeNull();
    expect(patternProblem('a/b/c')).not.toBeNull();
  });

  it('event kinds: an event name takes all its actions, event.action only that one', () => {
    expect(rejection({ ...base, eventKinds: ['pull_request'] }, event)).toBeNull();
    expect(rejection({ ...base, eventKinds: ['pull_request.opened'] }, event)).toBeNull();
    expect(rejection({ ...base, eventKinds: ['pull_request.closed', 'issues'] }, event)).toBe(
      'event filter',
    );
  });

  it('bots are ignored when asked: type Bot or a [bot] login', () => {
    const bot = { ...event, sender: { login: 'dependabot[bot]', type: 'Bot' } };
    expect(isBot({ login: 'renovate[bot]' })).toBe(true);
    expect(isBot({ login: 'octocat', type: 'User' })).toBe(false);
    expect(rejection({ ...base, ignoreBots: true }, bot)).toBe('bot filter');
    expect(rejection(base, bot)).toBeNull();
  });

  it('required labels must all be on the item (case-insensitive)', () => {
    expect(rejection({ ...base, requiredLabels: ['frontend'] }, event)).toBeNull();
    expect(rejection({ ...base, requiredLabels: ['frontend', 'bug'] }, event)).toBeNull();
    expect(rejection({ ...base, requiredLabels: ['backend'] }, event)).toBe('label filter');
  });

  it('excluded labels: any of them on the item keeps it out (case-insensitive)', () => {
    expect(rejection({ ...base, excludeLabels: ['wip', 'frontend'] }, event)).toBe('label filter');
    expect(rejection({ ...base, excludeLabels: ['wip'] }, event)).toBeNull();
  });

  it('excluded users: by login or glob, as the sender and as the author', () => {
    expect(matchesUser(['dependabot*'], 'dependabot[bot]')).toBe(true);
    expect(matchesUser(['*[bot]'], 'Renovate[bot]')).toBe(true);
    expect(matchesUser(['*[bot]'], 'robot')).toBe(false);
    expect(matchesUser(['octo?at'], 'octocat')).toBe(true);
    expect(matchesUser(['octo.at'], 'octocat')).toBe(false);
    expect(matchesUser(['preview-*'], 'preview-deploy')).toBe(true);
    const bySender = { ...event, sender: { login: 'preview-deploy', type: 'User' } };
    expect(rejection({ ...base, excludeUsers: ['preview-*'] }, bySender)).toBe('user filter');
    const byAuthor = { ...event, item: { ...item, author: 'dependabot[bot]' } };
    expect(rejection({ ...base, excludeUsers: ['dependabot*'] }, byAuthor)).toBe('user filter');
    expect(rejection({ ...base, excludeUsers: ['dependabot*'] }, event)).toBeNull();
    expect(userPatternProblem('*[bot]')).toBeNull();
    expect(userPatternProblem('*')).not.toBeNull();
    expect(userPatternProblem('a b')).not.toBeNull();
  });

  it('drafts: announced, or silent until ready for review', () => {
    const draft = { ...event, item: { ...item, draft: true } };
    expect(rejection({ ...base, drafts: 'announce' }, draft)).toBeNull();
    expect(rejection({ ...base, drafts: 'when-ready' }, draft)).toBe('draft filter');
    expect(rejection({ ...base, drafts: 'when-ready' }, event)).toBeNull();
  });

  describe('late matches', () => {
    it('a required label added, an excluded one removed, a draft made ready: once, with why', () => {
      const required = { ...base, requiredLabels: ['ops'] };
      expect(lateMatch(required, changed({ labels: [] }, { labels: ['OPS'] }))).toBe(
        'label ops added',
      );
      // Already matching: not late; still not matching: not late.
      expect(
        lateMatch(required, changed({ labels: ['ops'] }, { labels: ['ops', 'x'] })),
      ).toBeNull();
      expect(lateMatch(required, changed({ labels: [] }, { labels: ['x'] }))).toBeNull();
      const excluded = { ...base, excludeLabels: ['wip'] };
      expect(lateMatch(excluded, changed({ labels: ['wip'] }, { labels: [] }))).toBe(
        'label wip removed',
      );
      const drafts = { ...base, drafts: 'when-ready' as const };
      expect(
        lateMatch(
          drafts,
          changed({ draft: true }, { draft: false }, 'pull_request.ready_for_review'),
        ),
      ).toBe('ready for review');
      // A new item (the bridge had not seen it) is announced as usual, not as a late match.
      expect(lateMatch(required, { ...event, item: { ...item, labels: ['ops'] } })).toBeNull();
    });

    it('whoever sent the event and whatever it was: a label added by a bot counts', () => {
      const rules = {
        ...base,
        requiredLabels: ['ops'],
        ignoreBots: true,
        eventKinds: ['issues.opened'],
      };
      const byBot = {
        ...changed({ labels: [] }, { labels: ['ops'] }),
        sender: { login: 'github-actions[bot]', type: 'Bot' },
      };
      expect(rejection(rules, byBot)).toBe('event filter');
      expect(route([{ ...rules, sourceId: 'a' }], undefined, byBot)).toEqual({
        sourceIds: [],
        late: [{ sourceId: 'a', why: 'label ops added' }],
        dropped: null,
      });
    });

    it('an author the rules exclude never matches late', () => {
      const rules = { ...base, requiredLabels: ['ops'], excludeUsers: ['dependabot*'] };
      const bump = changed(
        { labels: [], author: 'dependabot[bot]' },
        { labels: ['ops'], author: 'dependabot[bot]' },
      );
      expect(lateMatch(rules, bump)).toBeNull();
    });
  });

  describe('route', () => {
    const sub = (sourceId: string, filters: Partial<SubscriptionRules> = {}) => ({
      ...base,
      sourceId,
      ...filters,
    });

    it('every wanting subscription once; the default flow only without any subscription', () => {
      expect(route([sub('a'), sub('a'), sub('b')], 'default', event)).toEqual({
        sourceIds: ['a', 'b'],
        late: [],
        dropped: null,
      });
      expect(route([sub('x', { repositoryPattern: 'other/*' })], 'default', event)).toEqual({
        sourceIds: ['default'],
        late: [],
        dropped: null,
      });
      expect(route([], undefined, event)).toEqual({
        sourceIds: [],
        late: [],
        dropped: 'no subscription',
      });
    });

    it('names the rules that kept the event from every subscription', () => {
      const bot = { ...event, sender: { login: 'renovate[bot]', type: 'Bot' } };
      const subs = [
        sub('a', { ignoreBots: true }),
        sub('b', { requiredLabels: ['backend'] }),
        sub('c', { ignoreBots: true }),
      ];
      // A filtered repository does not fall back to the default flow.
      expect(route(subs, 'default', bot)).toEqual({
        sourceIds: [],
        late: [],
        dropped: 'bot filter, label filter',
      });
    });
  });
});
