import { GhUser } from './github-payload.types';

export interface SubscriptionFilters {
  repositoryPattern: string;
  eventKinds: string[];
  ignoreBots: boolean;
  requiredLabels: string[];
}

export interface EventFacts {
  repository: string;
  /** `event.action` or `event`. */
  kind: string;
  sender: GhUser;
  /** The item's labels after the event. */
  labels: string[];
}

const REPOSITORY_PATTERN = /^[A-Za-z0-9-]+\/(\*|[A-Za-z0-9._-]+)$/;

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

/** The rule that keeps an event from a flow (the delivery log shows it). */
export type DropRule = 'no subscription' | 'event filter' | 'bot filter' | 'label filter';

/** Why an event is not for a subscription, or null when it is. */
export function rejection(filters: SubscriptionFilters, event: EventFacts): DropRule | null {
  if (!matchesRepository(filters.repositoryPattern, event.repository)) return 'no subscription';
  if (!matchesKind(filters.eventKinds, event.kind)) return 'event filter';
  if (filters.ignoreBots && isBot(event.sender)) return 'bot filter';
  const labels = new Set(event.labels.map((l) => l.toLowerCase()));
  if (!filters.requiredLabels.every((l) => labels.has(l.toLowerCase()))) return 'label filter';
  return null;
}

export interface Route {
  /** The flows (Flowdock sources) that get the event, each once. */
  sourceIds: string[];
  /** When none does: the rules that kept it out. */
  dropped: string | null;
}

/**
 * Where an event goes: every subscription of its repository that wants it,
 * or the default flow (FLOWDOCK_FLOW_TOKEN) when no subscription names the repository.
 */
export function route(
  subscriptions: (SubscriptionFilters & { sourceId: string })[],
  defaultSourceId: string | undefined,
  event: EventFacts,
): Route {
  const mine = subscriptions.filter((s) =>
    matchesRepository(s.repositoryPattern, event.repository),
  );
  if (mine.length === 0) {
    return defaultSourceId
      ? { sourceIds: [defaultSourceId], dropped: null }
      : { sourceIds: [], dropped: 'no subscription' };
  }
  const sourceIds = new Set<string>();
  const rules = new Set<string>();
  for (const subscription of mine) {
    const rule = rejection(subscription, event);
    if (rule) rules.add(rule);
    else sourceIds.add(subscription.sourceId);
  }
  return sourceIds.size > 0
    ? { sourceIds: [...sourceIds], dropped: null }
    : { sourceIds: [], dropped: [...rules].join(', ') };
}
