import { FastifyInstance, FastifyReply } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { FlowdockState, SimFault, SimFlow } from './flowdock-state';
import { openStream, wantsStream } from './flowdock-stream.routes';

const COLORS = [
  'red',
  'green',
  'yellow',
  'cyan',
  'orange',
  'grey',
  'black',
  'lime',
  'purple',
  'blue',
];
const EVENTS = ['message', 'activity', 'discussion'];

type Body = Record<string, unknown>;

const isObject = (value: unknown): value is Body =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const blank = (value: unknown) => typeof value !== 'string' || value.trim() === '';

/** Flowdock's validation errors: {message: "Validation error", errors: {field: [...]}}. */
function validate(body: Body, threadExists: boolean): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  const add = (field: string, text: string) => (errors[field] ??= []).push(text);
  if (!EVENTS.includes(body.event as string)) add('event', 'is not included in the list');
  if (body.event === 'message') {
    if (blank(body.content)) add('content', "can't be blank");
    return errors;
  }
  if (!isObject(body.author) || blank(body.author.name)) add('author.name', "can't be blank");
  if (blank(body.title)) add('title', "can't be blank");
  if (blank(body.external_thread_id) && blank(body.thread_id)) {
    add('external_thread_id', "can't be blank");
  }
  if (body.uuid !== undefined && blank(body.uuid)) add('uuid', 'is invalid');
  if (body.thread === undefined) {
    if (!threadExists) add('thread', "can't be blank for a new thread");
    return errors;
  }
  if (!isObject(body.thread)) {
    add('thread', 'is invalid');
    return errors;
  }
  const thread = body.thread;
  if (blank(thread.title)) add('thread.title', "can't be blank");
  if (thread.status !== undefined) {
    const status = thread.status as Body;
    if (!isObject(status) || !COLORS.includes(status.color as string))
      add('thread.status.color', 'is invalid');
    if (!isObject(status) || blank(status.value)) add('thread.status.value', "can't be blank");
  }
  for (const key of ['fields', 'actions'] as const) {
    if (thread[key] !== undefined && !Array.isArray(thread[key]))
      add(`thread.${key}`, 'must be a list');
  }
  for (const action of Array.isArray(thread.actions) ? thread.actions : []) {
    const a = action as Body;
    if (a['@type'] !== 'ViewAction' && a['@type'] !== 'UpdateAction')
      add('thread.actions', 'unknown @type');
    if (a['@type'] === 'UpdateAction' && (!isObject(a.target) || blank(a.target.urlTemplate))) {
      add('thread.actions', 'UpdateAction needs target.urlTemplate');
    }
  }
  return errors;
}

async function applyFault(fault: SimFault, reply: FastifyReply): Promise<FastifyReply> {
  if ('hangMs' in fault) {
    // Answers only after the caller has given up; the message is not recorded.
    await sleep(fault.hangMs);
    return reply.code(504).send({ message: 'Simulated timeout' });
  }
  if (fault.retryAfter !== undefined) void reply.header('retry-after', fault.retryAfter);
  return reply.code(fault.status).send({ message: fault.message ?? `Simulated ${fault.status}` });
}

function flowJson(flow: SimFlow) {
  return {
    id: flow.id,
    name: flow.name,
    parameterized_name: flow.flow,
    organization: { name: flow.organization, parameterized_name: flow.organization },
    joined: true,
    open: true,
    url: `/flows/${flow.organization}/${flow.flow}`,
    web_url: `https://www.flowdock.example.invalid/app/${flow.organization}/${flow.flow}`,
  };
}

/**
 * Posting with flow tokens (Flowdock's messages API and its guide to
 * production integrations), the team-inbox threads it builds (threads API),
 * and the flow and source calls of the integration set-up (flows and sources APIs).
 */
export function flowdockMessagesRoutes(app: FastifyInstance, state: FlowdockState): void {
  app.post('/messages', async (request, reply) => {
    const fault = state.outage ?? state.faults.shift();
    if (fault) return applyFault(fault, reply);
    const body: Body = isObject(request.body) ? { ...request.body } : {};
    const query = isObject(request.query) ? request.query : {};
    const flowToken = (body.flow_token ?? query.flow_token) as string | undefined;
    delete body.flow_token;
    if (blank(flowToken)) return reply.code(401).send({ message: 'flow_token is required' });
    const source = state.sourceByToken(flowToken as string);
    if (!source) return reply.code(401).send({ message: 'Invalid flow_token' });
    if (source.removed) return reply.code(410).send({ message: 'The source has been removed' });
    const retryAfter = state.rateLimit?.admit(flowToken as string);
    if (retryAfter !== undefined) {
      return applyFault(
        { status: 429, retryAfter: String(retryAfter), message: 'Rate limit exceeded' },
        reply,
      );
    }
    const exists =
      (typeof body.external_thread_id === 'string' &&
        state.thread(source.id, body.external_thread_id) !== undefined) ||
      (typeof body.thread_id === 'string' &&
        state.threadById(body.thread_id)?.sourceId === source.id);
    const errors = validate(body, exists);
    if (Object.keys(errors).length > 0) {
      return reply.code(400).send({ message: 'Validation error', errors });
    }
    if (state.latencyMs > 0) await sleep(state.latencyMs);
    const message = state.recordMessage(source, body);
    if (request.headers['x-flowdock-wait-for-message'] === undefined) return reply.code(202).send();
    return reply.code(200).send(state.messageJson(message));
  });

  app.get<{ Params: { organization: string; flow: string } }>(
    '/flows/:organization/:flow/threads',
    async (request, reply) => {
      if (!state.authenticate(request.headers.authorization)) {
        return reply.code(401).send({ message: 'Unauthorized' });
      }
      const flow = state.flowByPath(request.params.organization, request.params.flow);
      if (!flow) return reply.code(404).send({ message: 'Flow not found' });
      const threads = [...state.threads.values()].filter(
        (t) => state.sources.get(t.sourceId)?.flowId === flow.id,
      );
      return reply.send(threads.map((t) => state.threadJson(t)));
    },
  );

  app.get('/flows/find', async (request, reply) => {
    if (!state.authenticate(request.headers.authorization)) {
      return reply.code(401).send({ message: 'Unauthorized' });
    }
    const id = isObject(request.query) ? request.query.id : undefined;
    const flow = typeof id === 'string' ? state.flows.get(id) : undefined;
    if (!flow) return reply.code(404).send({ message: 'Flow not found' });
    return reply.send(flowJson(flow));
  });

  // The flows the token's user is a member of (Flowdock's "List Flows": joined flows only);
  // with `filter` or `user`, the streaming API instead.
  app.get('/flows', async (request, reply) => {
    if (wantsStream(request)) return openStream(state, request, reply);
    const user = state.authenticate(request.headers.authorization);
    if (!user) return reply.code(401).send({ message: 'Unauthorized' });
    return reply.send(state.flowsOf(user.id).map(flowJson));
  });

  app.post<{ Params: { organization: string; flow: string } }>(
    '/flows/:organization/:flow/sources',
    async (request, reply) => {
      if (!state.authenticate(request.headers.authorization)) {
        return reply.code(401).send({ message: 'Unauthorized' });
      }
      const fault = state.sourceFaults.shift();
      if (fault) return applyFault(fault, reply);
      const flow = state.flowByPath(request.params.organization, request.params.flow);
      if (!flow) return reply.code(404).send({ message: 'Flow not found' });
      const body = isObject(request.body) ? request.body : {};
      if (blank(body.name)) {
        return reply
          .code(400)
          .send({ message: 'Validation error', errors: { name: ["can't be blank"] } });
      }
      const externalUrl = typeof body.external_url === 'string' ? body.external_url : undefined;
      const source = state.addSource(flow.id, body.name as string, externalUrl);
      return reply.code(201).send({
        id: source.id,
        name: source.name,
        external_url: externalUrl,
        flow_token: source.flowToken,
      });
    },
  );
}
