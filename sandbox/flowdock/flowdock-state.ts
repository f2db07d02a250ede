import { randomBytes } from 'node:crypto';
import type { FlowTokenRateLimit } from './flowdock-rate-limit';
import { FlowdockStreamHub } from './flowdock-stream-hub';

export interface SimUser {
  id: number;
  nick: string;
  name: string;
  email: string;
}

export interface SimFlow {
  id: string;
  organization: string;
  flow: string;
  name: string;
  /** User ids of its members (GET /flows); unset: every user of the simulator. */
  members?: number[];
}

export interface SimSource {
  id: number;
  flowId: string;
  name: string;
  externalUrl?: string;
  flowToken: string;
  /** Removed in Flowdock: posting with its token answers 410. */
  removed: boolean;
}

export interface SimAuthorizationCode {
  userId: number;
  clientId: string;
  redirectUri: string;
  scope: string;
  expiresAt: number;
}

export interface SimAccessToken {
  userId: number;
  clientId: string;
  scope: string;
  expiresAt: number;
  revoked: boolean;
}

/** A message as the simulator received it (the JSON body, minus the flow token). */
export interface SimMessage {
  id: number;
  flowId: string;
  sourceId: number;
  receivedAt: number;
  body: Record<string, unknown>;
}

/** A chat message a user wrote in a flow (a reply in a thread, usually), through their access token. */
export interface SimUserMessage {
  id: number;
  flowId: string;
  userId: number;
  /** The Flowdock thread id (SimThread.id) it was posted to; unset: a chat message in the flow. */
  threadId?: string;
  content: string;
  uuid: string | null;
  tags: string[];
  receivedAt: number;
}

/** A team-inbox thread: the newest `thread` object posted for an external_thread_id. */
export interface SimThread {
  /** Flowdock's opaque thread id (`thread_id` of messages), stable for the thread's life. */
  id: string;
  sourceId: number;
  externalThreadId: string;
  thread: Record<string, unknown>;
  activities: number;
  discussions: number;
  /** User chat messages in the thread (Flowdock's threads API: `internal_comments`). */
  comments: number;
}

/** What the next POST /messages answers instead of accepting the message. */
export type SimFault =
  { status: number; retryAfter?: string; message?: string } | { hangMs: number };

const token = (prefix: string) => `${prefix}${randomBytes(16).toString('hex')}`;

/**
 * The Flowdock simulator's in-memory world: users, OAuth codes and tokens,
 * flows, sources (flow tokens) and the messages and threads posted to them.
 * Route plugins share one instance; tests read and steer it directly.
 */
export class FlowdockState {
  readonly users = new Map<number, SimUser>();
  readonly flows = new Map<string, SimFlow>();
  readonly sources = new Map<number, SimSource>();
  readonly codes = new Map<string, SimAuthorizationCode>();
  readonly accessTokens = new Map<string, SimAccessToken>();
  /** refresh token -> the access token grant it renews */
  readonly refreshTokens = new Map<string, { userId: number; clientId: string; scope: string }>();
  readonly messages: SimMessage[] = [];
  readonly threads = new Map<string, SimThread>();
  /** What users wrote (POST /flows/:org/:flow/messages, the inbox's reply form), oldest first. */
  readonly userMessages: SimUserMessage[] = [];
  /** Streaming API subscribers and the replay history (flowdock-stream-hub.ts). */
  readonly streams = new FlowdockStreamHub();
  /** While set, new streams are refused with this status (open ones stay open). */
  streamFault: { status: number; retryAfter?: string; message?: string } | undefined;
  /** How often an idle stream sends a keep-alive (JSON: "\n", event-stream: a comment), ms. */
  streamKeepAliveMs = 15_000;
  /** Applied to POST /messages, first in first out. */
  readonly faults: SimFault[] = [];
  /** Applied to POST /flows/:org/:flow/sources (the integration set-up), first in first out. */
  readonly sourceFaults: SimFault[] = [];
  /** While set, every POST /messages gets this fault (an outage). */
  outage: SimFault | undefined;
  /** While set, POST /messages is rate-limited per flow token (429 with Retry-After). */
  rateLimit: FlowTokenRateLimit | undefined;
  /** Added to every accepted POST /messages (a slow network), ms. */
  latencyMs = 0;
  codeTtlMs = 60_000;
  accessTokenTtlSeconds = 3600;
  private nextSourceId = 1;
  private nextMessageId = 1;

  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
    users: SimUser[] = DEFAULT_USERS,
  ) {
    for (const user of users) this.users.set(user.id, user);
    this.addFlow({
      id: 'f10000000000000000000001',
      organization: 'acme',
      flow: 'main',
      name: 'Main',
    });
  }

  addFlow(flow: SimFlow): SimFlow {
    this.flows.set(flow.id, flow);
    return flow;
  }

  /** The flows a user is a member of (GET /flows). */
  flowsOf(userId: number): SimFlow[] {
    return [...this.flows.values()].filter((f) => !f.members || f.members.includes(userId));
  }

  flowByPath(organization: string, flow: string): SimFlow | undefined {
    return [...this.flows.values()].find((f) => f.organization === organization && f.flow === flow);
  }

  /** Creates a source (integration) in a flow; its flow token posts messages there. */
  addSource(flowId = 'f10000000000000000000001', name = 'GitHub', externalUrl?: string): SimSource {
    const source: SimSource = {
      id: this.nextSourceId++,
      flowId,
      name,
      externalUrl,
      flowToken: randomBytes(16).toString('hex'),
      removed: false,
    };
    this.sources.set(source.id, source);
    return source;
  }

  sourceByToken(flowToken: string): SimSource | undefined {
    return [...this.sources.values()].find((s) => s.flowToken === flowToken);
  }

  /** Removes a source as a flow admin would: its token then answers 410 Gone. */
  removeSource(sourceId: number): void {
    const source = this.sources.get(sourceId);
    if (source) source.removed = true;
  }

  issueCode(userId: number, clientId: string, redirectUri: string, scope: string): string {
    const code = token('');
    this.codes.set(code, {
      userId,
      clientId,
      redirectUri,
      scope,
      expiresAt: Date.now() + this.codeTtlMs,
    });
    return code;
  }

  /** Takes a code out (codes are single-use, even when the exchange then fails). */
  consumeCode(code: string): SimAuthorizationCode | undefined {
    const grant = this.codes.get(code);
    this.codes.delete(code);
    return grant && grant.expiresAt > Date.now() ? grant : undefined;
  }

  issueTokens(userId: number, clientId: string, scope: string) {
    const accessToken = token('fda_');
    const refreshToken = token('fdr_');
    this.accessTokens.set(accessToken, {
      userId,
      clientId,
      scope,
      expiresAt: Date.now() + this.accessTokenTtlSeconds * 1000,
      revoked: false,
    });
    this.refreshTokens.set(refreshToken, { userId, clientId, scope });
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      token_type: 'bearer',
      expires_in: this.accessTokenTtlSeconds,
      scope,
    };
  }

  /** The user a `Bearer` header (or access_token query value) authenticates, if any. */
  authenticate(authorization: string | undefined, queryToken?: string): SimUser | undefined {
    const match = /^bearer\s+(\S+)$/i.exec(authorization ?? '');
    const value = match?.[1] ?? queryToken;
    const grant = value ? this.accessTokens.get(value) : undefined;
    if (!grant || grant.revoked || grant.expiresAt <= Date.now()) return undefined;
    return this.users.get(grant.userId);
  }

  /** Revokes every token of a user, as when they remove the application's authorization. */
  revokeUser(userId: number): void {
    for (const grant of this.accessTokens.values())
      if (grant.userId === userId) grant.revoked = true;
    for (const [refresh, grant] of this.refreshTokens) {
      if (grant.userId === userId) this.refreshTokens.delete(refresh);
    }
  }

  recordMessage(source: SimSource, body: Record<string, unknown>): SimMessage {
    const message: SimMessage = {
      id: this.nextMessageId++,
      flowId: source.flowId,
      sourceId: source.id,
      receivedAt: Date.now(),
      body,
    };
    this.messages.push(message);
    // Posting by Flowdock's thread_id (its messages API) updates that thread, as its external id would.
    const known = typeof body.thread_id === 'string' ? this.threadById(body.thread_id) : undefined;
    const externalThreadId =
      known?.sourceId === source.id ? known.externalThreadId : body.external_thread_id;
    if (typeof externalThreadId === 'string') {
      const key = `${source.id}:${externalThreadId}`;
      const thread = this.threads.get(key) ?? {
        id: randomBytes(20).toString('base64url'),
        sourceId: source.id,
        externalThreadId,
        thread: {},
        activities: 0,
        discussions: 0,
        comments: 0,
      };
      if (body.thread && typeof body.thread === 'object') {
        thread.thread = body.thread as Record<string, unknown>;
      }
      if (body.event === 'activity') thread.activities++;
      if (body.event === 'discussion') thread.discussions++;
      this.threads.set(key, thread);
    }
    this.streams.publish(source.flowId, message.id, this.messageJson(message));
    return message;
  }

  /** Stores what a user wrote (in `thread`, when given) and streams it. */
  recordUserMessage(
    user: SimUser,
    flow: SimFlow,
    text: { content: string; uuid?: string; tags?: string[] },
    thread?: SimThread,
  ): SimUserMessage {
    const message: SimUserMessage = {
      id: this.nextMessageId++,
      flowId: flow.id,
      userId: user.id,
      threadId: thread?.id,
      content: text.content,
      uuid: text.uuid ?? null,
      tags: text.tags ?? [],
      receivedAt: Date.now(),
    };
    this.userMessages.push(message);
    if (thread) thread.comments++;
    this.streams.publish(flow.id, message.id, this.userMessageJson(message));
    return message;
  }

  /** Ends every open stream, as Flowdock's servers did after maintenance; how many there were. */
  dropStreams(): number {
    return this.streams.dropAll();
  }

  /** How many streaming API connections are open. */
  get openStreams(): number {
    return this.streams.open;
  }

  threadById(id: string): SimThread | undefined {
    return [...this.threads.values()].find((t) => t.id === id);
  }

  /** A thread as Flowdock's threads API shows it: the posted state plus id, counts and source. */
  threadJson(thread: SimThread): Record<string, unknown> {
    const source = this.sources.get(thread.sourceId);
    return {
      ...thread.thread,
      id: thread.id,
      source: { id: thread.sourceId, application: source?.name ?? null },
      activities: thread.activities,
      internal_comments: thread.comments,
      external_comments: thread.discussions,
    };
  }

  /**
   * An integration's message as the streaming API and the wait-for-message
   * answer show it (Flowdock's message types, activity/discussion samples): no user
   * ("0"), app "influx", and the thread's id and current state.
   */
  messageJson(message: SimMessage): Record<string, unknown> {
    const body = message.body;
    const thread =
      typeof body.external_thread_id === 'string'
        ? this.thread(message.sourceId, body.external_thread_id)
        : typeof body.thread_id === 'string'
          ? this.threadById(body.thread_id)
          : undefined;
    const isString = (value: unknown) => (typeof value === 'string' ? value : null);
    return {
      id: message.id,
      event: body.event,
      flow: message.flowId,
      sent: message.receivedAt,
      created_at: new Date(message.receivedAt).toISOString(),
      uuid: isString(body.uuid),
      tags: normalizeTags(body.tags),
      attachments: [],
      app: 'influx',
      user: '0',
      edited: null,
      content: body.event === 'message' ? body.content : null,
      ...(body.event === 'message' ? {} : { title: body.title, body: isString(body.body) }),
      ...(body.author !== undefined ? { author: body.author } : {}),
      // Flowdock named the posting application; the simulator's sources stand for them.
      _application: message.sourceId,
      ...(thread ? { thread_id: thread.id, thread: this.threadJson(thread) } : {}),
    };
  }

  /** A user's chat message as the streaming API shows it (Flowdock's message type `message`). */
  userMessageJson(message: SimUserMessage): Record<string, unknown> {
    const thread = message.threadId ? this.threadById(message.threadId) : undefined;
    return {
      id: message.id,
      event: 'message',
      flow: message.flowId,
      content: message.content,
      sent: message.receivedAt,
      created_at: new Date(message.receivedAt).toISOString(),
      uuid: message.uuid,
      tags: message.tags,
      attachments: [],
      app: 'chat',
      user: String(message.userId),
      edited: null,
      ...(thread ? { thread_id: thread.id, thread: this.threadJson(thread) } : {}),
    };
  }

  /** How often each uuid arrived: above 1 is a resend (after a crash or a lost answer). */
  uuidCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const message of this.messages) {
      const uuid = message.body.uuid;
      if (typeof uuid === 'string') counts.set(uuid, (counts.get(uuid) ?? 0) + 1);
    }
    return counts;
  }

  thread(sourceId: number, externalThreadId: string): SimThread | undefined {
    return this.threads.get(`${sourceId}:${externalThreadId}`);
  }
}

/**
 * Tags as Flowdock stores them (its messages API): a list or a comma-separated
 * string, hashtags without their "#", lower case, each once.
 */
export function normalizeTags(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  const tags = list
    .filter((t): t is string => typeof t === 'string')
    .map((t) => t.trim().replace(/^#/, '').toLowerCase())
    .filter((t) => t !== '');
  return [...new Set(tags)];
}

const DEFAULT_USERS: SimUser[] = [
  { id: 1001, nick: 'alice', name: 'Alice Anderson', email: 'alice@example.com' },
  { id: 1002, nick: 'bob', name: 'Bob Brown', email: 'bob@example.com' },
  { id: 1003, nick: 'carol', name: 'Carol Clark', email: 'carol@example.com' },
];
