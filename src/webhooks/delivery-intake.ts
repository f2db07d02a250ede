import { mapGitHubEvent } from './github-event.mapper';
import { isThreadKey, MappedEvent, ThreadKey } from '../threads/github-event.types';
import { mappedEventProblem } from './mapped-event.check';
import { DeliveryOutcome } from './webhook-delivery.entity';

/** What processing needs of a delivery; stored as JSON text in the inbox until processed. */
export type DeliveryWork =
  /** A change of the thread named by the inbox row's item. */
  | { type: 'thread'; event: MappedEvent }
  /** A CI signal: its thread is found by head commit when it is processed. */
  | { type: 'ci'; event: MappedEvent }
  /** `github_app_authorization.revoked`: the GitHub user's links go. */
  | { type: 'revoke'; githubUserId: number };

/** One inbox row as the webhook request writes it. */
export interface InboxEntry {
  deliveryId: string;
  event: string;
  action: string | null;
  repository: string | null;
  /** The payload's `sender.login` (shown by the delivery log pages). */
  sender?: string | null;
  item: Pick<ThreadKey, 'kind' | 'number'> | null;
  /** null when the delivery is settled on arrival (ping, unhandled, failed). */
  work: DeliveryWork | null;
  /** The outcome of a delivery settled on arrival. */
  outcome: DeliveryOutcome | null;
  reason: string | null;
}

/** Longest envelope text kept in the delivery log (GitHub's names are far shorter). */
const MAX_NAME = 200;
/** Longest reason kept for a delivery's outcome. */
const MAX_REASON = 500;

/**
 * PostgreSQL's text and jsonb refuse U+0000 and lone surrogates: both become
 * U+FFFD, so a payload carrying them is stored and shown rather than refused forever.
 */
export function cleanText(text: string): string {
  return text.toWellFormed().replaceAll('\u0000', '\uFFFD');
}

function cleanDeep<T>(value: T): T {
  if (typeof value === 'string') return cleanText(value) as T;
  if (Array.isArray(value)) return value.map(cleanDeep) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = cleanDeep(v);
    return out as T;
  }
  return value;
}

const name = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? cleanText(value.slice(0, MAX_NAME)) : null;

/**
 * Turns a verified delivery into its inbox row: the mapped change processing
 * will apply, or an outcome right away for what needs no processing. Never
 * throws: a payload the mapper cannot read is settled as `failed` with the reason.
 */
export function intake(deliveryId: string, event: string, payload: object): InboxEntry {
  const envelope = payload as {
    action?: unknown;
    repository?: { full_name?: unknown } | null;
    sender?: { id?: unknown; login?: unknown } | null;
  };
  const entry: InboxEntry = {
    deliveryId,
    event,
    action: name(envelope.action),
    repository: name(envelope.repository?.full_name),
    sender: name(envelope.sender?.login),
    item: null,
    work: null,
    outcome: null,
    reason: null,
  };
  // A reason may quote the payload (a TypeError names the value it met): cleaned and bounded too.
  const settle = (outcome: DeliveryOutcome, reason: string | null = null): InboxEntry => ({
    ...entry,
    outcome,
    reason: reason === null ? null : cleanText(reason.slice(0, MAX_REASON)),
  });

  if (event === 'ping') return settle('ping');
  if (event === 'github_app_authorization') {
    const id = envelope.sender?.id;
    if (envelope.action !== 'revoked') return settle('unhandled');
    if (!Number.isSafeInteger(id) || (id as number) <= 0) {
      return settle('failed', 'sender.id is not a GitHub user id');
    }
    return { ...entry, work: { type: 'revoke', githubUserId: id as number } };
  }

  let mapped: MappedEvent | null;
  try {
    mapped = mapGitHubEvent(event, payload);
  } catch (error) {
    return settle(
      'failed',
      `the payload does not have the expected shape: ${(error as Error).message}`,
    );
  }
  if (!mapped) return settle('unhandled');
  mapped = cleanDeep(mapped);
  const problem = mappedEventProblem(mapped);
  if (problem) return settle('failed', `the payload does not have the expected shape: ${problem}`);

  if (isThreadKey(mapped.target)) {
    return {
      ...entry,
      repository: mapped.target.repository,
      item: { kind: mapped.target.kind, number: mapped.target.number },
      work: { type: 'thread', event: mapped },
    };
  }
  return { ...entry, repository: mapped.target.repository, work: { type: 'ci', event: mapped } };
}
