import { GhUser } from '../threads/github-payload.types';

/** Draft pull requests: announced as any item, or silent until marked ready for review. */
export const DRAFT_RULES = ['announce', 'when-ready'] as const;
export type DraftRule = (typeof DRAFT_RULES)[number];

/** What a subscription lets through (all must hold). */
export interface SubscriptionRules {
  repositoryPattern: string;
  /** Empty: every event. Entries are `event` or `event.action`. */
  eventKinds: string[];
  ignoreBots: boolean;
  /** The item must carry every one of these labels. */
  requiredLabels: string[];
  /** The item must carry none of these labels. */
  excludeLabels: string[];
  /** Logins or globs (`dependabot*`, `*[bot]`): neither the event's sender nor the item's author. */
  excludeUsers: string[];
  drafts: DraftRule;
}

/** The rules' view of a pull request or issue: its state after (or before) an event. */
export interface ItemFacts {
  labels: string[];
  draft: boolean;
  author: string;
}

export interface EventFacts {
  repository: string;
  /** `event.action` or `event`. */
  kind: string;
  sender: GhUser;
  /** The item after the event: the rules judge its current state, not only the event. */
  item: ItemFacts;
  /** The item before the event; null when the bridge had not seen it yet. */
  before: ItemFacts | null;
}

const REPOSITORY_PATTERN = /^[A-Za-z0-9-]+\/(\*|[A-Za-z0-9._-]+)$/;

const EVENT_KIND = /^[a-z_]+(\.[a-z_]+)?$/;

/** A readable problem with an event kind, or null when it is `event` or `event.action`. */
export function eventKindProblem(kind: string): string | null {
  return EVENT_KIND.test(kind)
    ? null
    : `"${kind}" is not an event kind (e.g. pull_request or issues.opened)`;
}

/** A readable problem with a pattern, or null when it is `owner/repo` or `owner/*`. */
export function patternProblem(pattern: string): string | null {
  return REPOSITORY_PATTERN.test(pattern)
    ? null
    : `"${pattern}" is not a repository: use owner/repo or owner/*`;
}

export function matchesRepository(pattern: string, repository: string): boolean {
  const [owner, name] = pattern.toLowerCase().split('/');
  const [repoOwner, repoName] = repository.toLowerCase().split('/');
  return owner === repoOwner && (name === '*' || name === repoName);
}

/** Bots: GitHub Apps (type Bot) and accounts named like one. */
export function isBot(sender: GhUser): boolean {
  return sender.type === 'Bot' || sender.login.endsWith('[bot]');
}

function matchesKind(kinds: string[], kind: string): boolean {
  if (kinds.length === 0) return true;
  const event = kind.split('.')[0];
  return kinds.some((k) => k === kind || k === event);
}

const USER_GLOB = /^[A-Za-z0-9*?[\]_.-]{1,100}$/;

/** A readable problem with a login glob, or null. */
export function userPatternProblem(pattern: string): string | null {
  return USER_GLOB.test(pattern) && /[^*?]/.test(pattern)
    ? null
    : `"${pattern}" is not a login or login pattern (letters, digits, - _ . [ ] and the wildcards * ?)`;
}

const globs = new Map<string, RegExp>();

/** `dependabot*`, `*[bot]`: `*` any run of characters, `?` one; everything else literal, case-insensitive. */
export function matchesUser(patterns: string[], login: string): boolean {
  return patterns.some((pattern) => {
    let glob = globs.get(pattern);
    if (!glob) {
      const source = pattern
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.[\]\\^$+(){}|-]/g, '\\$&')))
        .join('');
      if (globs.size > 10_000) globs.clear();
      globs.set(pattern, (glob = new RegExp(`^${source}$`, 'i')));
    }
    return glob.test(login);
  });
}

const lower = (labels: string[]) => new Set(labels.map((l) => l.toLowerCase()));

/** The rule that keeps an event from a flow (the delivery log shows it). */
type DropRule =
  | 'no subscription'
  | 'event filter'
  | 'bot filter'
  | 'user filter'
  | 'label filter'
  | 'draft filter';

/** Why the item, as it is, is not for a subscription, or null when it is. */
function itemRejection(rules: SubscriptionRules, item: ItemFacts): DropRule | null {
  if (matchesUser(rules.excludeUsers, item.author)) return 'user filter';
  const labels = lower(item.labels);
  if (rules.excludeLabels.some((l) => labels.has(l.toLowerCase()))) return 'label filter';
  if (!rules.requiredLabels.every((l) => labels.has(l.toLowerCase()))) return 'label filter';
  if (rules.drafts === 'when-ready' && item.draft) return 'draft filter';
  return null;
}

/** Why an event is not for a subscription, or null when it is. */
export function rejection(rules: SubscriptionRules, event: EventFacts): DropRule | null {
  if (!matchesRepository(rules.repositoryPattern, event.repository)) return 'no subscription';
  if (!matchesKind(rules.eventKinds, event.kind)) return 'event filter';
  if (rules.ignoreBots && isBot(event.sender)) return 'bot filter';
  if (matchesUser(rules.excludeUsers, event.sender.login)) return 'user filter';
  return itemRejection(rules, event.item);
}

/**
 * A late match: the item did not pass the subscription's rules before the
 * event and does now (a required label added, an excluded one removed, a
 * draft marked ready). Whatever the event and whoever sent it — a label added
 * by a bot or an Action counts — so the flow gets the item once it qualifies.
 * Returns why, or null.
 */
export function lateMatch(rules: SubscriptionRules, event: EventFacts): string | null {
  const { before, item } = event;
  if (!before || !matchesRepository(rules.repositoryPattern, event.repository)) return null;
  if (itemRejection(rules, before) === null || itemRejection(rules, item) !== null) return null;
  const had = lower(before.labels);
  const has = lower(item.labels);
  const why = [
    ...rules.requiredLabels.filter((l) => !had.has(l.toLowerCase())).map((l) => `label ${l} added`),
    ...rules.excludeLabels
      .filter((l) => had.has(l.toLowerCase()) && !has.has(l.toLowerCase()))
      .map((l) => `label ${l} removed`),
    ...(rules.drafts === 'when-ready' && before.draft && !item.draft ? ['ready for review'] : []),
  ];
  return why.length > 0 ? why.join(', ') : 'it matches the rules now';
}

interface Route {
  /** The flows (Flowdock sources) that get the event, each once. */
  sourceIds: string[];
  /** Flows the item starts to qualify for with this event, and why (not also in sourceIds). */
  late: { sourceId: string; why: string }[];
  /** When no flow gets anything: the rules that kept it out. */
  dropped: string | null;
}

/**
 * Where an event goes: every subscription of its repository that wants it,
 * or the default flow (FLOWDOCK_FLOW_TOKEN) when no subscription names the
 * repository; and the flows for which it is a late match.
 */
export function route(
  subscriptions: (SubscriptionRules & { sourceId: string })[],
  defaultSourceId: string | undefined,
  event: EventFacts,
): Route {
  const mine = subscriptions.filter((s) =>
    matchesRepository(s.repositoryPattern, event.repository),
  );
  if (mine.length === 0) {
    return defaultSourceId
      ? { sourceIds: [defaultSourceId], late: [], dropped: null }
      : { sourceIds: [], late: [], dropped: 'no subscription' };
  }
  const sourceIds = new Set<string>();
  const late = new Map<string, string>();
  const rules = new Set<string>();
  for (const subscription of mine) {
    // A late match says why the item appears now, instead of the event's own message.
    const why = lateMatch(subscription, event);
    if (why) {
      late.set(subscription.sourceId, why);
      continue;
    }
    const rule = rejection(subscription, event);
    if (rule) rules.add(rule);
    else sourceIds.add(subscription.sourceId);
  }
  const lateOnly = [...late].filter(([sourceId]) => !sourceIds.has(sourceId));
  return {
    sourceIds: [...sourceIds],
    late: lateOnly.map(([sourceId, why]) => ({ sourceId, why })),
    dropped: sourceIds.size > 0 || lateOnly.length > 0 ? null : [...rules].join(', '),
  };
}
