import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FlowdockState, SimFlow } from './flowdock-state';
import { StreamEvent } from './flowdock-stream-hub';

type Query = Record<string, unknown>;

const queryOf = (request: FastifyRequest): Query =>
  request.query !== null && typeof request.query === 'object' ? (request.query as Query) : {};
const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** GET /flows with `filter` or `user` is the streaming API; without, the REST flows list. */
export const wantsStream = (request: FastifyRequest): boolean => {
  const query = queryOf(request);
  return query.filter !== undefined || query.user !== undefined;
};

/** A flow named by path (`org/flow`) or by id, as the `filter` parameter allows. */
function flowOf(state: FlowdockState, name: string): SimFlow | undefined {
  const at = name.indexOf('/');
  return at < 0 ? state.flows.get(name) : state.flowByPath(name.slice(0, at), name.slice(at + 1));
}

/** The event id to resume after: Last-Event-ID header, else `last_event_id` / `last-event-id`. */
function lastEventId(request: FastifyRequest): number | undefined {
  const query = queryOf(request);
  const value =
    text(request.headers['last-event-id']) ??
    text(query.last_event_id) ??
    text(query['last-event-id']);
  return value !== undefined && /^\d{1,15}$/.test(value.trim()) ? Number(value) : undefined;
}

/**
 * Opens a stream (Flowdock's streaming API) of the flows `names` (else the `filter`
 * parameter): every message of those flows, live, as JSON objects each ended
 * by "\r" (application/json, the default) or as Server-Sent Events with the
 * message id as event id (text/event-stream; `Accept` header or `accept`
 * parameter). With Last-Event-ID (header, or `last_event_id` parameter; the
 * JSON stream too) the kept events after that id come first. `user=1`
 * (private messages) is accepted but streams none: the simulator has no
 * private messages. `active` is ignored.
 */
export function openStream(
  state: FlowdockState,
  request: FastifyRequest,
  reply: FastifyReply,
  names?: string[],
): FastifyReply {
  const query = queryOf(request);
  const fault = state.streamFault;
  if (fault) {
    if (fault.retryAfter !== undefined) void reply.header('retry-after', fault.retryAfter);
    return reply.code(fault.status).send({ message: fault.message ?? `Simulated ${fault.status}` });
  }
  const user = state.authenticate(request.headers.authorization, text(query.access_token));
  if (!user) return reply.code(401).send({ message: 'Unauthorized' });
  const wanted = (names ?? (text(query.filter) ?? '').split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (wanted.length === 0 && query.user !== '1') {
    return reply.code(400).send({ message: 'Either filter or user=1 is required' });
  }
  const flowIds = new Set<string>();
  for (const name of wanted) {
    const flow = flowOf(state, name);
    if (!flow) return reply.code(404).send({ message: `Flow not found: ${name}` });
    if (flow.members && !flow.members.includes(user.id)) {
      return reply.code(403).send({ message: `Not a member of ${name}` });
    }
    flowIds.add(flow.id);
  }

  const sse = /text\/event-stream/i.test(text(query.accept) ?? request.headers.accept ?? '');
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    'content-type': sse ? 'text/event-stream; charset=utf-8' : 'application/json; charset=utf-8',
    'cache-control': 'no-cache',
    // A dropped stream closes its connection too, so clients see the end at once.
    connection: 'close',
    'flowdock-user': String(user.id),
  });
  raw.flushHeaders();
  const write = (event: StreamEvent) =>
    raw.write(sse ? `id: ${event.id}\ndata: ${event.json}\n\n` : `${event.json}\r`);
  const keepAlive = setInterval(
    () => raw.write(sse ? ': keep-alive\n\n' : '\n'),
    state.streamKeepAliveMs,
  );
  keepAlive.unref();

  // Replay and subscribe in one turn of the event loop: no event falls between them.
  const after = lastEventId(request);
  if (after !== undefined) for (const event of state.streams.since(flowIds, after)) write(event);
  const unsubscribe = state.streams.subscribe({
    flowIds,
    send: write,
    close: () => raw.end(),
  });
  raw.on('close', () => {
    clearInterval(keepAlive);
    unsubscribe();
  });
  return reply;
}

/**
 * Flowdock's streaming API on the simulator's own address (the bridge's
 * FLOWDOCK_STREAM_URL): GET /flows/:organization/:flow here, GET /flows?filter=
 * in flowdock-messages.routes.ts beside the flows list. (FlowdockSimulator
 * ends every open stream when it closes, so close() does not wait for them.)
 */
export function flowdockStreamRoutes(app: FastifyInstance, state: FlowdockState): void {
  app.get<{ Params: { organization: string; flow: string } }>(
    '/flows/:organization/:flow',
    async (request, reply) =>
      openStream(state, request, reply, [`${request.params.organization}/${request.params.flow}`]),
  );
}
