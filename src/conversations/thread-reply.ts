import { isRecord } from '../common/records';

/** A person's reply in a Flowdock thread, as read from a stream event. */
export interface ThreadReply {
  /** Flowdock's flow id (message ids are unique per flow); the stream's flow when the event has none. */
  flow: string;
  messageId: string;
  /** Flowdock's thread id. */
  threadId: string;
  /** The Flowdock user id of the author. */
  userId: string;
  /** The text, as written. */
  content: string;
}

/** The uuid prefix of the bridge's own chat messages (notices), so it never answers itself. */
export const BRIDGE_UUID_PREFIX = 'flowdock-github-bridge:';

const USER_ID = /^[1-9][0-9]{0,19}$/;

/**
 * The reply an event carries, or undefined for everything the bridge leaves
 * alone: other events (activity, discussion, status, tag changes…), messages
 * outside threads, messages of integrations (the bridge's own posts included:
 * no user, user "0", app `influx`, an `external_user_name` or `author`), and
 * anything malformed.
 */
export function threadReplyOf(message: unknown, streamFlow: string): ThreadReply | undefined {
  if (!isRecord(message)) return undefined;
  const m = message;
  if (m.event !== 'message' && m.event !== 'comment') return undefined;
  if (m.app === 'influx' || m.external_user_name !== undefined || m.author !== undefined) {
    return undefined;
  }
  if (typeof m.uuid === 'string' && m.uuid.startsWith(BRIDGE_UUID_PREFIX)) return undefined;
  const user = typeof m.user === 'number' ? String(m.user) : m.user;
  if (typeof user !== 'string' || !USER_ID.test(user)) return undefined;
  if (typeof m.thread_id !== 'string' || m.thread_id === '') return undefined;
  const id = typeof m.id === 'number' ? String(m.id) : m.id;
  if (typeof id !== 'string' || id === '') return undefined;
  // A comment's content is {title, text} in Flowdock's API; a message's is the text.
  const content =
    typeof m.content === 'string' ? m.content : isRecord(m.content) ? m.content.text : undefined;
  if (typeof content !== 'string' || content.trim() === '') return undefined;
  const flow = typeof m.flow === 'string' && m.flow !== '' ? m.flow : streamFlow;
  return { flow, messageId: id, threadId: m.thread_id, userId: user, content };
}
