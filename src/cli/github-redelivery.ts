import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Octokit } from '@octokit/rest';
import { DataSource } from 'typeorm';
import { GitHubOctokitFactory, isGitHubTimeout } from '../auth/github-octokit.factory';
import { AppConfig } from '../config/app.config';

/** Whose hook: a repository's or an organization's. */
export type HookOwner = { owner: string; repo: string } | { org: string };

interface Hook {
  id: number;
  url: string;
}

/** A delivery GitHub is asked to send again: its newest attempt, and why. */
export interface Redelivery {
  /** The id of the attempt (what the redelivery endpoint takes). */
  id: number;
  guid: string;
  event: string;
  action: string | null;
  deliveredAt: string;
  /**
   * `failed: 502` (every attempt failed; `failed: 0 (…)` when none was answered)
   * or `never recorded` (GitHub saw it succeed, yet the bridge has no row).
   */
  why: string;
}

interface RedeliveryPlan {
  hook: Hook;
  /** Attempts GitHub listed since the cut-off, and the deliveries (guids) they belong to. */
  attempts: number;
  deliveries: number;
  /** Deliveries the bridge has a row for: nothing to do, whatever GitHub shows. */
  recorded: number;
  /** Oldest first, the order GitHub first sent them in. */
  redeliveries: Redelivery[];
}

/** The fields of GitHub's delivery list the plan reads. */
interface Attempt {
  id: number;
  guid: string;
  delivered_at: string;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
}

const HOOK_PATH = '/github/webhooks';
const SCOPES = { repo: 'admin:repo_hook', org: 'admin:org_hook' } as const;

const describeOwner = (owner: HookOwner) =>
  'org' in owner ? `organization ${owner.org}` : `${owner.owner}/${owner.repo}`;

const succeeded = (a: Attempt) => a.status_code >= 200 && a.status_code < 300 && a.status === 'OK';

/**
 * Recovery of the webhooks the bridge missed (it or its database was down):
 * GitHub never sends a failed delivery again by itself, but lists a hook's
 * recent deliveries and redelivers one when asked. Every call uses
 * GITHUB_ADMIN_TOKEN through the project's Octokit (GITHUB_API_URL, timeout);
 * the token never appears in a message.
 */
@Injectable()
export class GitHubRedelivery {
  private readonly token: string | undefined;
  private readonly publicUrl: string;
  private readonly retentionDays: number;
  private readonly timeoutMs: number;
  private client: Octokit | undefined;

  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly octokits: GitHubOctokitFactory,
    private readonly dataSource: DataSource,
  ) {
    const github = config.get('github', { infer: true });
    this.token = github.adminToken;
    this.retentionDays = github.deliveryRetentionDays;
    this.timeoutMs = github.timeoutMs;
    this.publicUrl = config.get('publicUrl', { infer: true });
  }

  /**
   * The hook of `owner` that delivers to this bridge (`PUBLIC_URL…/github/webhooks`).
   * None or several: a usage error listing the hooks, to pick one with --hook-id.
   */
  private async bridgeHook(owner: HookOwner): Promise<Hook> {
    const octokit = this.octokit(owner);
    const all = await this.call(owner, 'list the hooks of', async (): Promise<Hook[]> => {
      const hooks =
        'org' in owner
          ? await octokit.paginate(octokit.rest.orgs.listWebhooks, {
              org: owner.org,
              per_page: 100,
            })
          : await octokit.paginate(octokit.rest.repos.listWebhooks, { ...owner, per_page: 100 });
      return hooks.map((h) => ({ id: h.id, url: h.config.url ?? '' }));
    });
    const ours = all.filter(
      (h) => h.url.startsWith(`${this.publicUrl}/`) && h.url.endsWith(HOOK_PATH),
    );
    if (ours.length === 1) return ours[0];
    const list = (some: Hook[]) => some.map((h) => `${h.id} ${h.url}`).join(', ');
    const where = describeOwner(owner);
    if (ours.length > 1) {
      throw new BadRequestException(
        `${ours.length} hooks of ${where} deliver to this bridge; choose one with --hook-id: ${list(ours)}`,
      );
    }
    throw new BadRequestException(
      all.length === 0
        ? `${where} has no webhooks`
        : `no hook of ${where} delivers to ${this.publicUrl}${HOOK_PATH} (PUBLIC_URL); ` +
            `choose one with --hook-id: ${list(all)}`,
    );
  }

  /**
   * What to redeliver among the hook's deliveries since `since`: each delivery
   * (guid; GitHub lists every attempt) the bridge has no row for, whether
   * GitHub saw it fail or not. One the bridge recorded is never asked for again.
   * Without `hookId`, the hook is the one that delivers to this bridge.
   */
  async plan(owner: HookOwner, hookId: number | undefined, since: Date): Promise<RedeliveryPlan> {
    const oldest = Date.now() - this.retentionDays * 86_400_000;
    if (since.getTime() < oldest) {
      // Rows of processed deliveries are pruned after that: they would look missed.
      throw new BadRequestException(
        `--since reaches beyond the delivery log (DELIVERY_RETENTION_DAYS=${this.retentionDays}): ` +
          'older deliveries the bridge processed cannot be told from missed ones',
      );
    }
    this.octokit(owner);
    const hook = hookId === undefined ? await this.bridgeHook(owner) : { id: hookId, url: '' };
    const attempts = await this.attemptsSince(owner, hook.id, since);
    const byGuid = new Map<string, Attempt[]>();
    for (const attempt of attempts) {
      byGuid.set(attempt.guid, [...(byGuid.get(attempt.guid) ?? []), attempt]);
    }
    const recorded = await this.recorded([...byGuid.keys()]);
    const missed: { first: Attempt; redelivery: Redelivery }[] = [];
    for (const [guid, tries] of byGuid) {
      if (recorded.has(guid)) continue;
      // Newest first, as GitHub lists them: redeliver the latest attempt, date it by the first.
      const [latest, first] = [tries[0], tries[tries.length - 1]];
      const why = tries.some(succeeded)
        ? 'never recorded'
        : `failed: ${latest.status_code}${latest.status_code ? '' : ` (${latest.status})`}`;
      missed.push({
        first,
        redelivery: {
          id: latest.id,
          guid,
          event: latest.event,
          action: latest.action,
          deliveredAt: first.delivered_at,
          why,
        },
      });
    }
    // In the order GitHub first sent them (its times are in seconds; its ids grow).
    missed.sort(
      (a, b) => a.first.delivered_at.localeCompare(b.first.delivered_at) || a.first.id - b.first.id,
    );
    const redeliveries = missed.map((m) => m.redelivery);
    return {
      hook,
      attempts: attempts.length,
      deliveries: byGuid.size,
      recorded: recorded.size,
      redeliveries,
    };
  }

  /** Asks GitHub to send one delivery again (it answers 202 and sends it moments later). */
  async redeliver(owner: HookOwner, hookId: number, deliveryId: number): Promise<void> {
    const octokit = this.octokit(owner);
    const hook = { hook_id: hookId, delivery_id: deliveryId };
    await this.call(owner, `redeliver delivery ${deliveryId} of hook ${hookId} of`, () =>
      'org' in owner
        ? octokit.rest.orgs.redeliverWebhookDelivery({ org: owner.org, ...hook })
        : octokit.rest.repos.redeliverWebhookDelivery({ ...owner, ...hook }),
    );
  }

  /** The hook's attempts since `since`, newest first, paging no further than needed. */
  private async attemptsSince(owner: HookOwner, hookId: number, since: Date): Promise<Attempt[]> {
    const octokit = this.octokit(owner);
    const pages =
      'org' in owner
        ? octokit.paginate.iterator(octokit.rest.orgs.listWebhookDeliveries, {
            org: owner.org,
            hook_id: hookId,
            per_page: 100,
          })
        : octokit.paginate.iterator(octokit.rest.repos.listWebhookDeliveries, {
            ...owner,
            hook_id: hookId,
            per_page: 100,
          });
    return this.call(owner, `list the deliveries of hook ${hookId} of`, async () => {
      const found: Attempt[] = [];
      for await (const { data } of pages) {
        for (const attempt of data) {
          if (Date.parse(attempt.delivered_at) < since.getTime()) return found;
          found.push(attempt);
        }
      }
      return found;
    });
  }

  /** The guids among `guids` the bridge has a delivery row for (pending or processed). */
  private async recorded(guids: string[]): Promise<Set<string>> {
    if (guids.length === 0) return new Set();
    const rows = await this.dataSource.query<{ delivery_id: string }[]>(
      'SELECT delivery_id FROM github_webhook_delivery WHERE delivery_id = ANY($1::text[])',
      [guids],
    );
    return new Set(rows.map((r) => r.delivery_id));
  }

  private octokit(owner: HookOwner): Octokit {
    if (!this.token) {
      const scope = 'org' in owner ? SCOPES.org : SCOPES.repo;
      throw new Error(
        `GITHUB_ADMIN_TOKEN is not set: the command needs a GitHub token with the ${scope} scope ` +
          `of a user with admin rights on ${describeOwner(owner)}`,
      );
    }
    this.client ??= this.octokits.forToken(this.token);
    return this.client;
  }

  /** Runs a GitHub call; its failure as a message a person can act on (never quoting the token). */
  private async call<T>(owner: HookOwner, doing: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const what = `${doing} ${describeOwner(owner)}`;
      if (isGitHubTimeout(error)) {
        throw new Error(
          `GitHub did not answer within ${this.timeoutMs} ms (GITHUB_TIMEOUT_MS) to ${what}`,
        );
      }
      const { status, response } = error as {
        status?: number;
        response?: { headers?: Record<string, string | undefined>; data?: { message?: unknown } };
      };
      if (status === undefined)
        throw new Error(`cannot reach GitHub to ${what}: ${errorMessage(error)}`);
      if (status === 401) {
        throw new Error(
          `GitHub refused GITHUB_ADMIN_TOKEN (401) to ${what}: the token is unknown, expired or revoked`,
        );
      }
      const scope = 'org' in owner ? SCOPES.org : SCOPES.repo;
      const granted = response?.headers?.['x-oauth-scopes'];
      if (
        (status === 403 || status === 404) &&
        granted !== undefined &&
        !hasScope(granted, scope)
      ) {
        throw new Error(
          `GitHub answered ${status} to ${what}: GITHUB_ADMIN_TOKEN lacks the ${scope} scope ` +
            `(it has: ${granted || 'none'})`,
        );
      }
      if (status === 404) {
        throw new NotFoundException(
          `GitHub answered 404 to ${what}: no such ${'org' in owner ? 'organization' : 'repository'} or hook, ` +
            `or the token's user is no ${'org' in owner ? 'owner' : 'admin'} of it`,
        );
      }
      const message =
        typeof response?.data?.message === 'string' ? `: ${response.data.message}` : '';
      throw new Error(`GitHub answered ${status} to ${what}${message}`);
    }
  }
}

/** Whether a token's scopes let it redeliver: `scope`, or for repositories `repo` / `write:repo_hook`. */
function hasScope(granted: string, scope: string): boolean {
  const scopes = granted.split(',').map((s) => s.trim());
  const broader = scope === SCOPES.repo ? ['repo', 'write:repo_hook'] : [];
  return scopes.includes(scope) || broader.some((s) => scopes.includes(s));
}

function errorMessage(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
