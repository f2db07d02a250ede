import { randomUUID } from 'node:crypto';
import { webhookHeaders } from './webhook-sender';

export interface SimHookTarget {
  url: string;
  secret: string;
}

export interface SimHook extends SimHookTarget {
  id: number;
  /** A repository hook (`owner/name`, lower-case) or an organization hook (every repository of `org`). */
  scope: { repository: string } | { org: string };
  /** Event names the hook sends; `*` for all. */
  events: string[];
  active: boolean;
}

/** One attempt to send a webhook, as GitHub lists it under a hook's "Recent deliveries". */
export interface SimDelivery {
  id: number;
  hookId: number;
  /** The X-GitHub-Delivery sent; a redelivery sends the same one again. */
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  /** Seconds. */
  duration: number;
  /** "OK", or what went wrong. */
  status: string;
  /** The receiver's status code; 0 when no answer came (connection refused). */
  status_code: number;
  event: string;
  action: string | null;
  repository_id: number | null;
  /** What was sent and answered, for `GET …/deliveries/{id}` and redeliveries. */
  request: { headers: Record<string, string>; body: string };
  response: { headers: Record<string, string>; body: string };
}

/** The receiver's answer to one attempt, or what stood for it (connection refused…). */
type Attempt = { response: Response } | { error: unknown };

/** The action of a payload, as GitHub lists it beside the event. */
const actionOf = (body: string): string | null => {
  const action = (JSON.parse(body) as { action?: unknown }).action;
  return typeof action === 'string' ? action : null;
};

/**
 * The simulator's webhooks: hooks of repositories and organizations, and every
 * delivery sent to them (in the order they ended), so that the REST routes can list them
 * and send one again (hooks.routes.ts). A delivery the receiver refused or
 * never answered is recorded as GitHub records it: status_code 0 with
 * "failed to connect to host", or "Invalid HTTP Response: <code>".
 */
export class GitHubHooks {
  readonly hooks: SimHook[] = [];
  readonly deliveries: SimDelivery[] = [];
  /** Organization -> the logins of its owners (who may manage its hooks). */
  readonly orgOwners = new Map<string, Set<string>>();
  /** The hook standing for `webhookTarget`, per repository (see `of`). */
  private readonly implicit = new Map<string, SimHook>();
  private nextHookId = 1;
  private nextDeliveryId = 90_000_001;

  addRepoHook(
    fullName: string,
    target: SimHookTarget & { events?: string[]; active?: boolean },
  ): SimHook {
    return this.add({ repository: fullName.toLowerCase() }, target);
  }

  /** An organization hook; `owners` may manage it (the organization's owners). */
  addOrgHook(
    org: string,
    target: SimHookTarget & { owners: string[]; events?: string[]; active?: boolean },
  ): SimHook {
    const owners = this.orgOwners.get(org.toLowerCase()) ?? new Set<string>();
    for (const login of target.owners) owners.add(login);
    this.orgOwners.set(org.toLowerCase(), owners);
    return this.add({ org: org.toLowerCase() }, target);
  }

  /**
   * The hooks of a repository: its own or, without any, one standing for
   * `fallback` (GitHubReposState.webhookTarget, read at each call), then those
   * of its organization.
   */
  of(fullName: string, fallback?: SimHookTarget): SimHook[] {
    const key = fullName.toLowerCase();
    const own = this.hooks.filter((h) => 'repository' in h.scope && h.scope.repository === key);
    if (own.length === 0 && fallback) {
      let hook = this.implicit.get(key);
      if (!hook) {
        hook = {
          id: this.nextHookId++,
          scope: { repository: key },
          events: ['*'],
          active: true,
          ...fallback,
        };
        this.implicit.set(key, hook);
      }
      Object.assign(hook, fallback);
      own.push(hook);
    }
    return [...own, ...this.ofOrg(key.split('/')[0])];
  }

  ofOrg(org: string): SimHook[] {
    return this.hooks.filter((h) => 'org' in h.scope && h.scope.org === org.toLowerCase());
  }

  /**
   * Sends `payload` to every active hook that takes `event`, each with a new
   * guid, recording each delivery. The first hook's answer (undefined without
   * a hook); when it gave none, its error is thrown once every hook was tried.
   */
  async deliver(
    hooks: SimHook[],
    event: string,
    payload: object,
    repositoryId: number | null,
  ): Promise<Response | undefined> {
    const body = JSON.stringify(payload);
    const taking = hooks.filter(
      (h) => h.active && (h.events.includes('*') || h.events.includes(event)),
    );
    let first: Attempt | undefined;
    for (const hook of taking) {
      const attempt = await this.send(hook, event, body, randomUUID(), false, repositoryId);
      first ??= attempt;
    }
    if (first && 'error' in first) throw first.error;
    return first?.response;
  }

  /** Sends a recorded delivery again: the same body and guid, to the hook's current URL and secret. */
  async redeliver(delivery: SimDelivery): Promise<Attempt> {
    const hook = this.hookById(delivery.hookId);
    if (!hook) return { error: new Error(`hook ${delivery.hookId} is gone`) };
    return this.send(
      hook,
      delivery.event,
      delivery.request.body,
      delivery.guid,
      true,
      delivery.repository_id,
    );
  }

  hookById(id: number): SimHook | undefined {
    return (
      this.hooks.find((h) => h.id === id) ?? [...this.implicit.values()].find((h) => h.id === id)
    );
  }

  /** The deliveries of a hook, newest first. */
  deliveriesOf(hookId: number): SimDelivery[] {
    return this.deliveries.filter((d) => d.hookId === hookId).sort((a, b) => b.id - a.id);
  }

  private add(
    scope: SimHook['scope'],
    target: SimHookTarget & { events?: string[]; active?: boolean },
  ): SimHook {
    const hook: SimHook = {
      id: this.nextHookId++,
      scope,
      url: target.url,
      secret: target.secret,
      events: target.events ?? ['*'],
      active: target.active ?? true,
    };
    this.hooks.push(hook);
    return hook;
  }

  /** One attempt, recorded whatever happens; the receiver's answer, or the error that stood for it. */
  private async send(
    hook: SimHook,
    event: string,
    body: string,
    guid: string,
    redelivery: boolean,
    repositoryId: number | null,
  ): Promise<Attempt> {
    const headers = webhookHeaders(hook.secret, event, body, guid);
    const delivery: SimDelivery = {
      id: this.nextDeliveryId++,
      hookId: hook.id,
      guid,
      delivered_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      redelivery,
      duration: 0,
      status: '',
      status_code: 0,
      event,
      action: actionOf(body),
      repository_id: repositoryId,
      request: { headers, body },
      response: { headers: {}, body: '' },
    };
    const started = performance.now();
    try {
      const res = await fetch(hook.url, { method: 'POST', headers, body });
      const text = await res.text();
      delivery.status_code = res.status;
      delivery.status = res.ok ? 'OK' : `Invalid HTTP Response: ${res.status}`;
      res.headers.forEach((value, name) => (delivery.response.headers[name] = value));
      delivery.response.body = text;
      const nullBody = [101, 204, 205, 304].includes(res.status);
      const response = new Response(nullBody ? null : text, {
        status: res.status,
        headers: res.headers,
      });
      return { response };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      delivery.status =
        cause?.code === 'ECONNREFUSED' ? 'failed to connect to host' : (error as Error).message;
      return { error };
    } finally {
      delivery.duration = Number(((performance.now() - started) / 1000).toFixed(2));
      // Listed once it is over, as on GitHub (never as a failure while the receiver still answers).
      this.deliveries.push(delivery);
    }
  }
}
