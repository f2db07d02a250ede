import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { signActionRequest } from './flowdock-action-signer';
import { FlowdockState } from './flowdock-state';
import { postAsUser } from './flowdock-user-messages.routes';
import { inboxPage, inboxThreads } from './inbox-page';
import { chosenUser } from './sandbox-user';

type Json = Record<string, unknown>;

interface ActionOutcome {
  outcome: 'success' | 'error' | 'challenge';
  message: string;
  /** The challenge URL (outcome `challenge`). */
  url?: string;
  /** The status the action endpoint answered, when it answered. */
  status?: number;
}

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The error text of a JSON error answer (`message`, else `error`). */
function reason(answer: Json): string | undefined {
  const text = answer.message ?? answer.error;
  return typeof text === 'string' ? text : undefined;
}

/** Reads `Flowdock-Token url=<challenge URL>` (Flowdock's thread actions API) from a 401. */
function challengeUrl(header: string | null): string | undefined {
  const url = /flowdock-token\s+url="?([^"\s]+)"?/i.exec(header ?? '')?.[1];
  return url && /^https?:\/\//i.test(url) ? url : undefined;
}

/**
 * The team inbox page (GET / and /inbox; `?as=<user id>` or the inbox's cookie
 * picks "You are"), its threads as JSON for in-place updates (GET
 * /inbox/threads: `{threads: [{key, hash, html}]}` with an ETag; 304 to a
 * matching If-None-Match), and what clicking an UpdateAction does there (POST
 * /inbox/actions {thread, action, name?, user}): the simulator sends the action
 * as Flowdock does, signed with the application secret for that sandbox user,
 * and reports the outcome. A `name` that no longer matches the action at that
 * index (the thread changed under the click) is refused with 409. POST
 * /inbox/replies {thread, content, user} is a thread's reply form: the reply
 * as that user, through the same path as their REST call.
 */
export function flowdockInboxRoutes(app: FastifyInstance, state: FlowdockState): void {
  const flowName = () => {
    const flow = [...state.flows.values()][0];
    return flow ? `${flow.organization}/${flow.flow}` : 'flow';
  };
  const page = async (request: FastifyRequest, reply: FastifyReply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(inboxPage(state, flowName(), chosenUser(state, request)));
  app.get('/', page);
  app.get('/inbox', page);
  app.get('/inbox/threads', async (request, reply) => {
    const body = JSON.stringify({ threads: inboxThreads(state) });
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 24)}"`;
    void reply.header('cache-control', 'no-store').header('etag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(body);
  });

  // The reply form: recorded as that sandbox user, as their POST /flows/:org/:flow/messages would be.
  app.post('/inbox/replies', async (request, reply) => {
    const body = isObject(request.body) ? request.body : {};
    const thread = typeof body.thread === 'string' ? state.threads.get(body.thread) : undefined;
    const flow = thread && state.flows.get(state.sources.get(thread.sourceId)?.flowId ?? '');
    if (!thread || !flow) return reply.code(404).send({ message: 'No such thread' });
    const user = state.users.get(Number(body.user));
    if (!user) return reply.code(400).send({ message: 'Choose who you are first' });
    const message = { event: 'message', content: body.content, thread_id: thread.id };
    const outcome = postAsUser(state, user, flow, message);
    return reply.code(outcome.status).send(outcome.body);
  });

  app.post('/inbox/actions', async (request, reply) => {
    const body = isObject(request.body) ? request.body : {};
    const fail = (status: number, message: string) =>
      reply.code(status).send({ outcome: 'error', message } satisfies ActionOutcome);
    const thread = typeof body.thread === 'string' ? state.threads.get(body.thread) : undefined;
    if (!thread) return fail(404, 'No such thread');
    const actions: unknown[] = Array.isArray(thread.thread.actions) ? thread.thread.actions : [];
    const action = Number.isInteger(body.action) ? actions[body.action as number] : undefined;
    if (!isObject(action) || action['@type'] !== 'UpdateAction') {
      return fail(400, 'No such action on this thread (the thread may have changed: try again)');
    }
    if (body.name !== undefined && body.name !== String(action.name)) {
      return fail(409, 'The thread changed before the click arrived: look again and retry');
    }
    const user = state.users.get(Number(body.user));
    if (!user) return fail(400, 'Choose who you are first');
    const urlTemplate = isObject(action.target) ? action.target.urlTemplate : undefined;
    if (typeof urlTemplate !== 'string' || !/^https?:\/\//i.test(urlTemplate)) {
      return fail(400, 'The action has no http(s) urlTemplate');
    }
    const signed = signActionRequest(
      { name: String(action.name), urlTemplate, agent: { name: user.name } },
      { clientSecret: state.clientSecret, userId: user.id },
    );
    let res: Response;
    try {
      res = await fetch(urlTemplate, {
        method: 'POST',
        headers: signed.headers,
        body: signed.payload,
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      return fail(502, `The integration did not answer: ${(error as Error).message}`);
    }
    const text = await res.text();
    let answer: Json = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (isObject(parsed)) answer = parsed;
    } catch {
      // A non-JSON answer: its status says enough.
    }
    const url = res.status === 401 ? challengeUrl(res.headers.get('www-authenticate')) : undefined;
    const outcome: ActionOutcome = url
      ? { outcome: 'challenge', message: 'Link your account first:', url, status: res.status }
      : res.ok
        ? {
            outcome: 'success',
            message: `${String(action.name)}: done`,
            status: res.status,
          }
        : {
            outcome: 'error',
            message: `${String(action.name)} failed (${res.status}): ${reason(answer) ?? res.statusText}`,
            status: res.status,
          };
    return reply.send(outcome);
  });
}
