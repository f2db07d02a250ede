import { examplePayload } from '../sandbox/github/webhook-examples';
import { signBody } from '../sandbox/github/webhook-sender';

export const WEBHOOK_SECRET = 'bench-webhook-secret-0123456789abcdef';

/** A webhook body as bytes and its `X-Hub-Signature-256`, computed once. */
export interface SignedBody {
  number: number;
  body: Buffer;
  signature: string;
}

/** The real `pull_request.opened` example payload (`@octokit/webhooks-examples`), as GitHub sends it. */
export function signedPullRequestOpened(secret = WEBHOOK_SECRET): SignedBody {
  const payload = examplePayload('pull_request', 'opened');
  const json = JSON.stringify(payload);
  return { number: payload.number, body: Buffer.from(json), signature: signBody(secret, json) };
}

export interface PullRequestVariant {
  /** `owner/name`; default: the example's repository. */
  repository?: string;
  /** The pull request's title; default: the example's. */
  title?: (n: number) => string;
}

/**
 * The `pull_request.opened` example once per number, each a different pull
 * request: its number, id, node id and every URL that names the number
 * (html_url, diff/patch, issue, commits, comments) changed, signed once.
 */
export function signedPullRequests(
  numbers: number[],
  secret: string,
  variant: PullRequestVariant = {},
): SignedBody[] {
  const template = examplePayload('pull_request', 'opened');
  const original = template.number;
  const [owner, name] = (variant.repository ?? template.repository.full_name).split('/');
  const originalRepository = template.repository.full_name;
  template.repository = {
    ...template.repository,
    name,
    full_name: `${owner}/${name}`,
    owner: { ...template.repository.owner, login: owner },
  };
  const json = JSON.stringify(template);
  const inUrls = new RegExp(`(/(?:pulls|pull|issues)/)${original}(?![0-9])`, 'g');
  return numbers.map((n) => {
    const payload = JSON.parse(
      json.replace(inUrls, `$1${n}`).replaceAll(`/${originalRepository}/`, `/${owner}/${name}/`),
    ) as typeof template;
    payload.number = n;
    payload.pull_request.number = n;
    payload.pull_request.id = 900_000_000 + n;
    payload.pull_request.node_id = Buffer.from(`PullRequest${900_000_000 + n}`).toString('base64');
    if (variant.title) payload.pull_request.title = variant.title(n);
    const body = JSON.stringify(payload);
    return { number: n, body: Buffer.from(body), signature: signBody(secret, body) };
  });
}
