import { randomBytes } from 'node:crypto';
import type { FlowTokenRateLimit } from './flowdock-rate-limit';

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

/** A team-inbox thread: the newest `thread` object posted for an external_thread_id. */
export interface SimThread {
  sourceId: number;
  externalThreadId: string;
  thread: Record<string, unknown>;
  activities: number;
  discussions: number;
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
    const externalThreadId = body.external_thread_id;
    if (typeof externalThreadId === 'string') {
      const key = `${source.id}:${externalThreadId}`;
      const thread = this.threads.get(key) ?? {
        sourceId: source.id,
        externalThreadId,
        thread: {},
        activities: 0,
        discussions: 0,
      };
      if (body.thread && typeof body.thread === 'object') {
        thread.thread = body.thread as Record<string, unknown>;
      }
      if (body.event === 'activity') thread.activities++;
      if (body.event === 'discussion') thread.discussions++;
      this.threads.set(key, thread);
    }
    return message;
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

export const DEFAULT_USERS: SimUser[] = [
  { id: 1001, nick: 'alice', name: 'Alice Anderson', email: 'alice@example.com' },
  { id: 1002, nick: 'bob', name: 'Bob Brown', email: 'bob@example.com' },
  { id: 1003, nick: 'carol', name: 'Carol Clark', email: 'carol@example.com' },
];
