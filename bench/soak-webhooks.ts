import { randomUUID } from 'node:crypto';
import { examplePayload } from '../sandbox/github/webhook-examples';
import { signBody } from '../sandbox/github/webhook-sender';
import { signedPullRequests } from './fixtures';

/**
 * What happens to an item after it is opened, in order. Every step is an
 * action the bridge announces, so every webhook should give its thread one
 * message (9 per thread).
 */
const SCRIPTS = {
  pull: [
    'labeled',
    'edited',
    'assigned',
    'review_requested',
    'synchronize',
    'unlabeled',
    'unassigned',
    'closed',
  ],
  issue: [
    'labeled',
    'edited',
    'assigned',
    'unlabeled',
    'closed',
    'reopened',
    'unassigned',
    'closed',
  ],
};

interface Item {
  kind: 'pull' | 'issue';
  number: number;
  /** Steps taken: 0 = not opened yet. */
  step: number;
}

export interface SoakWebhook {
  event: 'pull_request' | 'issues';
  action: string;
  deliveryId: string;
  body: string;
  signature: string;
}

type PullPayload = ReturnType<typeof examplePayload<'pull_request'>>;
type IssuePayload = ReturnType<typeof examplePayload<'issues'>>;

const user = <U extends { login: string }>(login: string, template: U): U => ({
  ...template,
  login,
});

/**
 * Signed `pull_request` and `issues` webhooks over many items of one
 * repository: `active` items at a time, each opened, then changed step by
 * step (SCRIPTS), then replaced by a new item; each webhook goes to an active
 * item at random, so threads interleave and get several messages. Bodies are
 * the official example payloads with the item's number, state and a newer
 * `updated_at` each time; built and signed when asked for (nothing is kept
 * but the items' steps).
 */
export class SoakWebhooks {
  private readonly pull: PullPayload;
  private readonly issue: IssuePayload;
  private readonly items: Item[] = [];
  private nextNumber = 1;
  private clock = Date.parse('2030-06-01T00:00:00Z');
  /** Items opened so far. */
  opened = 0;

  constructor(
    readonly repository: string,
    private readonly secret: string,
    active: number,
  ) {
    // The pull request example, already moved to `repository` (URLs included).
    const [pull] = signedPullRequests([1], secret, { repository });
    this.pull = JSON.parse(pull.body.toString()) as PullPayload;
    this.issue = examplePayload('issues', 'opened');
    const [owner, name] = repository.split('/');
    this.issue.repository = {
      ...this.issue.repository,
      name,
      full_name: repository,
      owner: { ...this.issue.repository.owner, login: owner },
    };
    for (let i = 0; i < active; i++) this.items.push(this.newItem());
  }

  /** The next webhook: a step of an active item chosen at random. */
  next(): SoakWebhook {
    const slot = Math.floor(Math.random() * this.items.length);
    const item = this.items[slot];
    const action = item.step === 0 ? 'opened' : SCRIPTS[item.kind][item.step - 1];
    item.step++;
    if (item.step > SCRIPTS[item.kind].length) this.items[slot] = this.newItem();
    if (action === 'opened') this.opened++;
    const updatedAt = new Date((this.clock += 1000)).toISOString().replace('.000Z', 'Z');
    const payload =
      item.kind === 'pull'
        ? this.pullPayload(item, action, updatedAt)
        : this.issuePayload(item, action, updatedAt);
    const body = JSON.stringify(payload);
    return {
      event: item.kind === 'pull' ? 'pull_request' : 'issues',
      action,
      deliveryId: randomUUID(),
      body,
      signature: signBody(this.secret, body),
    };
  }

  private newItem(): Item {
    // Two pull requests for every issue.
    const number = this.nextNumber++;
    return { kind: number % 3 === 0 ? 'issue' : 'pull', number, step: 0 };
  }

  private pullPayload(item: Item, action: string, updatedAt: string): PullPayload {
    const payload = structuredClone(this.pull);
    const pr = payload.pull_request;
    const n = item.number;
    const web = `https://github.com/${this.repository}/pull/${n}`;
    Object.assign(payload, { action, number: n });
    Object.assign(pr, {
      number: n,
      id: 900_000_000 + n,
      node_id: Buffer.from(`PullRequest${900_000_000 + n}`).toString('base64'),
      html_url: web,
      title: action === 'opened' ? `Soak ${n}` : `Soak ${n} (step ${item.step})`,
      updated_at: updatedAt,
      state: action === 'closed' ? 'closed' : 'open',
      closed_at: action === 'closed' ? updatedAt : null,
      labels: [],
      assignees: [],
      assignee: null,
      requested_reviewers: [],
    });
    const label = { ...(this.issue.issue.labels?.[0] ?? {}), name: `soak-${item.step % 5}` };
    const someone = user(`soak-dev-${n % 7}`, pr.user);
    if (action === 'labeled' || action === 'unlabeled') {
      Object.assign(payload, { label });
      pr.labels = action === 'labeled' ? [label as (typeof pr.labels)[number]] : [];
    }
    if (action === 'assigned' || action === 'unassigned') {
      Object.assign(payload, { assignee: someone });
      pr.assignees = action === 'assigned' ? [someone] : [];
      pr.assignee = action === 'assigned' ? someone : null;
    }
    if (action === 'review_requested') {
      Object.assign(payload, { requested_reviewer: someone });
      pr.requested_reviewers = [someone];
    }
    if (action === 'edited') Object.assign(payload, { changes: { title: { from: `Soak ${n}` } } });
    // Every push moves the head: CI of the old head no longer shows.
    if (action === 'synchronize') pr.head.sha = n.toString(16).padStart(40, 'a');
    return payload;
  }

  private issuePayload(item: Item, action: string, updatedAt: string): IssuePayload {
    const payload = structuredClone(this.issue);
    const issue = payload.issue;
    const n = item.number;
    Object.assign(payload, { action });
    Object.assign(issue, {
      number: n,
      id: 800_000_000 + n,
      node_id: Buffer.from(`Issue${800_000_000 + n}`).toString('base64'),
      html_url: `https://github.com/${this.repository}/issues/${n}`,
      title: action === 'opened' ? `Soak issue ${n}` : `Soak issue ${n} (step ${item.step})`,
      updated_at: updatedAt,
      state: action === 'closed' ? 'closed' : 'open',
      closed_at: action === 'closed' ? updatedAt : null,
      labels: [],
      assignees: [],
      assignee: null,
    });
    const label = { ...(this.issue.issue.labels?.[0] ?? {}), name: `soak-${item.step % 5}` };
    const someone = user(`soak-dev-${n % 7}`, issue.user);
    if (action === 'labeled' || action === 'unlabeled') {
      Object.assign(payload, { label });
      issue.labels =
        action === 'labeled' ? [label as NonNullable<typeof issue.labels>[number]] : [];
    }
    if (action === 'assigned' || action === 'unassigned') {
      Object.assign(payload, { assignee: someone });
      issue.assignees = action === 'assigned' ? [someone] : [];
      issue.assignee = action === 'assigned' ? someone : null;
    }
    if (action === 'edited') {
      Object.assign(payload, { changes: { title: { from: `Soak issue ${n}` } } });
    }
    return payload;
  }
}
