import { ThreadSnapshot } from '../threads/thread-snapshot';
import { CiSignal, MappedEvent, ThreadMessage } from '../threads/github-event.types';
import { MAX_ITEM_NUMBER } from '../common/ids';

/**
 * Checks what the mapper made of a payload before it is stored: the mapper
 * copies values through, so a field of the wrong type in the payload (a
 * string number, labels that are not a list, an unparsable time) shows up
 * here. Returns the first problem as "field: what is wrong", or null.
 */
export function mappedEventProblem(event: MappedEvent): string | null {
  return (
    check('kind', isString(event.kind)) ??
    check(
      'repository.full_name',
      isString(event.target.repository) && /^[^/\s]+\/[^/\s]+$/.test(event.target.repository),
      'not owner/name',
    ) ??
    senderProblem(event.sender) ??
    (event.message === null ? null : messageProblem(event.message)) ??
    (event.subject === undefined ? null : check('assignee.login', isString(event.subject))) ??
    updateProblem(event.update)
  );
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isOptionalString = (v: unknown) => v === undefined || v === null || isString(v);
const isNumber = (v: unknown) =>
  Number.isSafeInteger(v) && (v as number) > 0 && (v as number) <= MAX_ITEM_NUMBER;
const isStringList = (v: unknown) => Array.isArray(v) && v.every(isString);
/** A time PostgreSQL's timestamptz takes (years 1..9999 keep clear of its limits). */
const isTime = (v: unknown) => {
  if (!isString(v)) return false;
  const t = Date.parse(v);
  return Number.isFinite(t) && t > Date.UTC(1, 0) && t < Date.UTC(9999, 0);
};

function check(field: string, ok: boolean, expected = 'of the wrong type'): string | null {
  return ok ? null : `${field} is ${expected}`;
}

function senderProblem(sender: MappedEvent['sender']): string | null {
  if (typeof sender !== 'object' || sender === null) return 'sender is not an object';
  return (
    check('sender.login', isString(sender.login) && sender.login !== '', 'missing') ??
    check('sender.type', isOptionalString(sender.type)) ??
    check('sender.avatar_url', isOptionalString(sender.avatar_url))
  );
}

function messageProblem(message: ThreadMessage): string | null {
  return (
    check('message title', isString(message.title)) ??
    check('comment body', isOptionalString(message.body)) ??
    check('message author', isString(message.author?.name)) ??
    check('sender.avatar_url', isOptionalString(message.author?.avatar))
  );
}

function snapshotProblem(s: ThreadSnapshot): string | null {
  const item = s.kind === 'pull' ? 'pull_request' : 'issue';
  return (
    check(`${item}.number`, isNumber(s.number), 'not a positive integer') ??
    check(`${item}.title`, isString(s.title)) ??
    check(`${item}.body`, isOptionalString(s.body)) ??
    check(`${item}.html_url`, isString(s.url)) ??
    check(`${item}.user.login`, isString(s.author)) ??
    check(`${item}.assignees`, isStringList(s.assignees), 'not a list of users') ??
    check(`${item}.labels`, isStringList(s.labels), 'not a list of labels') ??
    check(
      `${item}.requested_reviewers`,
      Array.isArray(s.reviewers) && s.reviewers.every((r) => isString(r?.login)),
      'not a list of users',
    ) ??
    check(
      `${item}.head/base`,
      s.branches === undefined || (isString(s.branches.head) && isString(s.branches.base)),
    ) ??
    check(`${item}.head.sha`, s.headSha === undefined || isString(s.headSha))
  );
}

function ciProblem(sha: unknown, signal: CiSignal): string | null {
  return (
    check('head sha', isString(sha) && sha !== '', 'missing') ??
    check(
      'state',
      ['pending', 'success', 'failure', 'error'].includes(signal.state),
      'not a CI state',
    ) ??
    check('updated_at', isTime(signal.updatedAt), 'not a time') ??
    check('context', isString(signal.context)) ??
    check('description', isOptionalString(signal.description)) ??
    check('target_url', isOptionalString(signal.url))
  );
}

function updateProblem(update: MappedEvent['update']): string | null {
  if (update.type === 'ci') return ciProblem(update.sha, update.signal);
  return (
    snapshotProblem(update.snapshot) ??
    check('updated_at', isTime(update.updatedAt), 'not a time') ??
    (update.type === 'review' ? check('review.user.login', isString(update.reviewer)) : null)
  );
}
