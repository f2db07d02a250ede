import {
  isBot,
  matchesRepository,
  patternProblem,
  rejection,
  route,
  SubscriptionFilters,
} from './subscription-matcher';

const base: SubscriptionFilters = {
  repositoryPattern: 'octo-org/*',
  eventKinds: [],
  ignoreBots: false,
  requiredLabels: [],
};
const event = {
  repository: 'octo-org/hello',
  kind: 'pull_request.opened',
  sender: { login: 'octocat', type: 'User' },
  labels: ['bug', 'Frontend'],
};

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

  describe('route', () => {
    const sub = (sourceId: string, filters: Partial<SubscriptionFilters> = {}) => ({
      ...base,
      sourceId,
      ...filters,
    });

    it('every wanting subscription once; the default flow only without any subscription', () => {
      expect(route([sub('a'), sub('a'), sub('b')], 'default', event)).toEqual({
        sourceIds: ['a', 'b'],
        dropped: null,
      });
      expect(route([sub('x', { repositoryPattern: 'other/*' })], 'default', event)).toEqual({
        sourceIds: ['default'],
        dropped: null,
      });
      expect(route([], undefined, event)).toEqual({ sourceIds: [], dropped: 'no subscription' });
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
        dropped: 'bot filter, label filter',
      });
    });
  });
});
