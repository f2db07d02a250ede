import { GitHubHooks, SimHook } from './github-hooks';

export type SimPermission = 'read' | 'triage' | 'write' | 'admin';

export interface SimComment {
  id: number;
  author: string;
  body: string;
  createdAt: string;
}

export interface SimReview {
  id: number;
  user: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
  submittedAt: string;
}

export type SimMergeMethod = 'merge' | 'squash' | 'rebase';

export interface SimItem {
  number: number;
  kind: 'pull' | 'issue';
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  merged: boolean;
  draft: boolean;
  author: string;
  assignees: string[];
  labels: string[];
  head?: { ref: string; sha: string };
  base?: { ref: string };
  updatedAt: string;
  comments: SimComment[];
  /** Pull requests: submitted reviews, oldest first. */
  reviews: SimReview[];
  /** Pull requests: false when GitHub reports a conflict. */
  mergeable: boolean;
  /** Pull requests: why branch protection refuses a merge (failing checks, reviews required), when it does. */
  mergeBlockedBy?: string;
  /** A locked conversation: only users with write access may comment. */
  locked?: boolean;
}

export interface SimRepo {
  /** GitHub's numeric id (`repository.id` of payloads, `repository_id` of deliveries). */
  id: number;
  owner: string;
  name: string;
  private: boolean;
  /** Login -> permission. Owners are admins; others without an entry can read a public repository. */
  permissions: Map<string, SimPermission>;
  items: Map<number, SimItem>;
  /** The merge methods the repository allows, in GitHub's order of preference. */
  mergeMethods: SimMergeMethod[];
}

export interface SimCall {
  method: string;
  path: string;
  /** The login the request's token authenticated, or null. */
  login: string | null;
  /** The status answered; 0 while in progress, or when the caller gave up before the answer. */
  status: number;
}

const RANK: Record<SimPermission, number> = { read: 1, triage: 2, write: 3, admin: 4 };

/**
 * Repositories, their pull requests and issues, and who may do what, for the
 * simulator's REST routes. `calls` records every REST request with the user its
 * token belonged to, so tests can prove an action ran as the clicking user.
 */
export class GitHubReposState {
  readonly repos = new Map<string, SimRepo>();
  readonly calls: SimCall[] = [];
  /**
   * Where to send the webhooks GitHub would send after a change: the hook of
   * every repository without one of its own in `hooks` (none: no webhooks).
   */
  webhookTarget?: { url: string; secret: string };
  /** Repository and organization hooks, and every delivery sent to them. */
  readonly hooks = new GitHubHooks();
  /** Answer every REST call with this status (to simulate an outage), when set. */
  failWith?: number;
  /** Answer every REST call this much later (a slow GitHub; the change is still made), when set. */
  delayMs?: number;
  /**
   * Where the web pages of items, repositories and users live (the `html_url`s
   * of payloads): the simulator's own address once its pages are served.
   */
  webUrl = 'https://github.example.test';
  private clock = Date.parse('2030-01-01T00:00:00Z');
  private ids = 1000;
  private nextRepoId = 700_001;

  addRepo(
    fullName: string,
    options: {
      private?: boolean;
      permissions?: Record<string, SimPermission>;
      mergeMethods?: SimMergeMethod[];
    } = {},
  ): SimRepo {
    const [owner, name] = fullName.split('/');
    const repo: SimRepo = {
      id: this.nextRepoId++,
      owner,
      name,
      private: options.private ?? false,
      permissions: new Map(Object.entries(options.permissions ?? {})),
      items: new Map(),
      mergeMethods: options.mergeMethods ?? ['merge', 'squash', 'rebase'],
    };
    repo.permissions.set(owner, 'admin');
    this.repos.set(fullName.toLowerCase(), repo);
    return repo;
  }

  addItem(fullName: string, item: Partial<SimItem> & Pick<SimItem, 'number' | 'kind'>): SimItem {
    const repo = this.repo(fullName);
    if (!repo) throw new Error(`no repository ${fullName}`);
    const full: SimItem = {
      title: `Item ${item.number}`,
      body: null,
      state: 'open',
      merged: false,
      draft: false,
      author: repo.owner,
      assignees: [],
      labels: [],
      comments: [],
      reviews: [],
      mergeable: true,
      updatedAt: this.tick(),
      ...(item.kind === 'pull'
        ? {
            head: { ref: `feature-${item.number}`, sha: 'c0ffee'.padEnd(40, '0') },
            base: { ref: 'main' },
          }
        : {}),
      ...item,
    };
    repo.items.set(full.number, full);
    return full;
  }

  repo(fullName: string): SimRepo | undefined {
    return this.repos.get(fullName.toLowerCase());
  }

  /** The hooks a change to `repo` is sent to: its own (or `webhookTarget`'s) and its organization's. */
  hooksOf(repo: SimRepo): SimHook[] {
    return this.hooks.of(`${repo.owner}/${repo.name}`, this.webhookTarget);
  }

  /** Sends the webhook of a change to the repository's hooks; the first hook's answer (undefined: none). */
  emit(repo: SimRepo, event: string, payload: object): Promise<Response | undefined> {
    return this.hooks.deliver(this.hooksOf(repo), event, payload, repo.id);
  }

  permission(repo: SimRepo, login: string | null): SimPermission | null {
    const granted = login ? repo.permissions.get(login) : undefined;
    if (granted) return granted;
    return repo.private ? null : 'read';
  }

  can(repo: SimRepo, login: string | null, needed: SimPermission): boolean {
    const has = this.permission(repo, login);
    return !!has && RANK[has] >= RANK[needed];
  }

  /** A new id for a review, a comment or a merge commit. */
  nextId(): number {
    return ++this.ids;
  }

  /** A strictly increasing timestamp, so that every change has a newer updated_at. */
  tick(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString().replace('.000Z', 'Z');
  }
}
