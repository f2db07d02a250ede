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

/** Why an event is not for a subscription, or null when it is. */
export function rejection(filters: SubscriptionFilters, event: EventFacts): string | null {
  if (!matchesRepository(filters.repositoryPattern, event.repository)) return 'repository';
  if (!matchesKind(filters.eventKinds, event.kind)) return 'event kind';
  if (filters.ignoreBots && isBot(event.sender)) return 'bot sender';
  const labels = new Set(event.labels.map((l) => l.toLowerCase()));
  if (!filters.requiredLabels.every((l) => labels.has(l.toLowerCase()))) return 'labels';
  return null;
}
