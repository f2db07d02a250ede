import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FlowdockState, normalizeTags, SimFlow, SimUser } from './flowdock-state';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const blank = (value: unknown) => typeof value !== 'string' || value.trim() === '';

/** Flowdock's messages API: "The maximum length of the content is 8096 characters." */
const MAX_CONTENT = 8096;

export interface PostOutcome {
  status: number;
  /** The stored message as the stream shows it (2xx), or Flowdock's error answer. */
  body: Json;
}

/**
 * What a user's chat message does (Flowdock's messages API, "Send a message", event
 * `message`): refused unless they are a member of the flow, validated, stored
 * in the thread `thread_id` names (one of this flow's), and streamed. The REST
 * routes below and the team inbox's reply form both post through here.
 */
export function postAsUser(
  state: FlowdockState,
  user: SimUser,
  flow: SimFlow,
  input: unknown,
  pathThreadId?: string,
): PostOutcome {
  if (flow.members && !flow.members.includes(user.id)) {
    return { status: 403, body: { message: 'You are not a member of this flow' } };
  }
  const body = isObject(input) ? input : {};
  const errors: Record<string, string[]> = {};
  const add = (field: string, message: string) => (errors[field] ??= []).push(message);
  if (body.event !== 'message') add('event', 'is not included in the list');
  if (blank(body.content)) add('content', "can't be blank");
  else if ((body.content as string).length > MAX_CONTENT) add('content', 'is too long');
  if (body.uuid !== undefined && blank(body.uuid)) add('uuid', 'is invalid');
  const threadId = pathThreadId ?? body.thread_id;
  if (threadId !== undefined && blank(threadId)) add('thread_id', 'is invalid');
  if (Object.keys(errors).length > 0) {
    return { status: 400, body: { message: 'Validation error', errors } };
  }
  let thread;
  if (threadId !== undefined) {
    thread = state.threadById(threadId as string);
    if (!thread || state.sources.get(thread.sourceId)?.flowId !== flow.id) {
      return { status: 404, body: { message: 'Thread not found' } };
    }
  }
  const content = body.content as string;
  const hashtags = [...content.matchAll(/(?:^|\s)#([\p{L}\p{N}_-]+)/gu)].map((m) => m[1]);
  const message = state.recordUserMessage(
    user,
    flow,
    {
      content,
      uuid: body.uuid as string | undefined,
      tags: normalizeTags([...normalizeTags(body.tags), ...hashtags]),
    },
    thread,
  );
  return { status: 200, body: state.userMessageJson(message) };
}

type FlowParams = { organization: string; flow: string; thread_id?: string };

/**
 * A user writing in a flow through Flowdock's REST API (messages): POST
 * /flows/:organization/:flow/messages (`thread_id` in the body: a reply in
 * that thread) and POST /flows/:organization/:flow/threads/:thread_id/messages,
 * with the user's access token (Bearer, or `access_token`). 202, or 200 with
 * the stored message when `X-flowdock-wait-for-message` is set; 400
 * validation error, 401, 403 not a member, 404 unknown flow or thread.
 */
export function flowdockUserMessagesRoutes(app: FastifyInstance, state: FlowdockState): void {
  const post = async (request: FastifyRequest<{ Params: FlowParams }>, reply: FastifyReply) => {
    const query = isObject(request.query) ? request.query : {};
    const user = state.authenticate(
      request.headers.authorization,
      typeof query.access_token === 'string' ? query.access_token : undefined,
    );
    if (!user) return reply.code(401).send({ message: 'Unauthorized' });
    const flow = state.flowByPath(request.params.organization, request.params.flow);
    if (!flow) return reply.code(404).send({ message: 'Flow not found' });
    const outcome = postAsUser(state, user, flow, request.body, request.params.thread_id);
    void reply.header('flowdock-user', String(user.id));
    if (outcome.status !== 200) return reply.code(outcome.status).send(outcome.body);
    if (request.headers['x-flowdock-wait-for-message'] === undefined) return reply.code(202).send();
    return reply.code(200).send(outcome.body);
  };
  app.post('/flows/:organization/:flow/messages', post);
  app.post('/flows/:organization/:flow/threads/:thread_id/messages', post);
}
