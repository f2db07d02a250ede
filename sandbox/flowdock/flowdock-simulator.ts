/**
 * A Flowdock stand-in on loopback, for tests and the sandbox demo. Routes
 * (FLOWDOCK_API_URL = `url`):
 *
 * OAuth (Flowdock's authentication API)
 * - GET  /oauth/authorize?client_id&redirect_uri&response_type=code&state&scope
 *        -> HTML page: pick a sandbox user (radio `user_id`; the one chosen in
 *        the team inbox, by its cookie, is checked), Approve or Deny.
 *        Unknown client_id, response_type other than `code`, missing or
 *        non-http(s) redirect_uri -> 400 HTML page with `<p id="error">`.
 * - POST /oauth/authorize (urlencoded form, what that page submits): fields
 *        client_id, redirect_uri, response_type, state, scope, user_id,
 *        decision=approve|deny
 *        -> 302 redirect_uri?code=…&state=…  or  redirect_uri?error=access_denied&state=…
 * - POST /oauth/token (form or JSON): client_id, client_secret, grant_type
 *        authorization_code (+ code, redirect_uri equal to the authorize one;
 *        a code is single-use and lives state.codeTtlMs) or refresh_token
 *        (+ refresh_token, rotated on use)
 *        -> {access_token, refresh_token, token_type, expires_in, scope}
 *        (JSON when Accept or the request is JSON, else urlencoded);
 *        401 invalid_client, 400 invalid_grant / invalid_request / unsupported_grant_type.
 * - GET  /user with `Authorization: Bearer <access_token>` (or ?access_token=)
 *        -> {id, nick, name, email, avatar}; 401 otherwise.
 *
 * Integration (Flowdock's messages, flows and sources APIs)
 * - POST /messages with flow_token (body or query): event message|activity|discussion;
 *        202 (200 + message with `X-flowdock-wait-for-message`), 400 validation
 *        error, 401 unknown token, 410 removed source. state.faults / state.outage
 *        make it answer e.g. 500, 429 + Retry-After, or hang.
 * - GET  /flows (Bearer: the user's flows, SimFlow.members; unset members: everyone),
 *        GET /flows/find?id=, GET /flows/:org/:flow/threads (the team inbox) and
 *        POST /flows/:org/:flow/sources (Bearer; `state.sourceFaults` makes it fail).
 *        Messages answer with `thread_id`, Flowdock's opaque id of the thread (SimThread.id).
 *
 * Users (Flowdock's messages API; flowdock-user-messages.routes.ts)
 * - POST /flows/:org/:flow/messages {event: "message", content, thread_id?, uuid?, tags?}
 *        and POST /flows/:org/:flow/threads/:thread_id/messages, as the Bearer
 *        token's user: 202 (200 + message with the wait header), 400, 401,
 *        403 not a member, 404 unknown flow or thread.
 *
 * Streaming API (flowdock-stream.routes.ts, on this same address)
 * - GET  /flows?filter=org/flow,<flow id>,… and GET /flows/:org/:flow, Bearer
 *        or ?access_token=: JSON objects ended by "\r" (keep-alive "\n") or, with
 *        Accept / ?accept=text/event-stream, SSE (`id: <message id>`); Last-Event-ID
 *        (or ?last_event_id=) replays the kept events after it (the last
 *        state.streams.historyLimit, 10,000, per flow). 401, 403 not a member,
 *        404 unknown flow. Hooks: state.dropStreams(), state.streamFault,
 *        state.openStreams, state.streamKeepAliveMs.
 *
 * Team inbox page (inbox.routes.ts)
 * - GET  / and /inbox (?as=<user id>, else the `flowdock-sandbox-user`
 *        cookie the page sets): threads with status, fields (links kept), body
 *        (the bridge's HTML, sanitized again), timeline and actions.
 * - GET  /inbox/threads: {threads: [{key, hash, html}]} with an ETag (304 to
 *        If-None-Match); the page polls it and patches the parts that changed.
 * - POST /inbox/replies {thread, content, user}: the user's reply in that thread,
 *        as POST /flows/:org/:flow/messages would record it.
 * - POST /inbox/actions {thread, action, name?, user}: sends that UpdateAction
 *        as Flowdock does (signed FLOWDOCK-TOKEN for the user) and answers
 *        {outcome: success|error|challenge, message, url?}; 409 when `name` no
 *        longer matches the action at that index.
 *
 * Seeded: users 1001 alice, 1002 bob, 1003 carol; flow acme/main. Add sources
 * (flow tokens) with state.addSource().
 */
import formbody from '@fastify/formbody';
import Fastify, { FastifyInstance } from 'fastify';
import { AddressInfo } from 'node:net';
import { flowdockMessagesRoutes } from './flowdock-messages.routes';
import { flowdockOAuthRoutes } from './flowdock-oauth.routes';
import { flowdockStreamRoutes } from './flowdock-stream.routes';
import { flowdockUserMessagesRoutes } from './flowdock-user-messages.routes';
import { flowdockInboxRoutes } from './inbox.routes';
import { FlowdockState, SimUser } from './flowdock-state';

/** A group of simulator routes over the shared state. */
type FlowdockRoutes = (app: FastifyInstance, state: FlowdockState) => void;

export interface FlowdockSimulatorOptions {
  clientId: string;
  clientSecret: string;
  port?: number;
  users?: SimUser[];
  /**
   * Route groups; by default OAuth + user, messages + flows + sources, users'
   * messages, the streaming API, and the team inbox page.
   */
  routes?: FlowdockRoutes[];
  /** Keep an existing world (e.g. to restart on the same port after an outage). */
  state?: FlowdockState;
}

export class FlowdockSimulator {
  private constructor(
    readonly app: FastifyInstance,
    readonly state: FlowdockState,
    readonly url: string,
    readonly port: number,
  ) {}

  static async start(options: FlowdockSimulatorOptions): Promise<FlowdockSimulator> {
    const state =
      options.state ?? new FlowdockState(options.clientId, options.clientSecret, options.users);
    const app = Fastify({ logger: false });
    await app.register(formbody);
    // Streams never end by themselves: end them, or close() would wait for their clients.
    app.addHook('preClose', async () => {
      state.dropStreams();
    });
    for (const routes of options.routes ?? [
      flowdockOAuthRoutes,
      flowdockMessagesRoutes,
      flowdockUserMessagesRoutes,
      flowdockStreamRoutes,
      flowdockInboxRoutes,
    ]) {
      routes(app, state);
    }
    await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return new FlowdockSimulator(app, state, `http://127.0.0.1:${port}`, port);
  }

  async stop(): Promise<void> {
    // Hanging requests (simulated timeouts) must not keep the server open.
    this.app.server.closeAllConnections?.();
    await this.app.close();
  }
}
