import examples from '@octokit/webhooks-examples';
import type { WebhookEventMap, WebhookEventName } from '@octokit/webhooks-types';

/**
 * A deep copy of an official example payload (`@octokit/webhooks-examples`),
 * for tests, the simulator and the benchmark. `action` picks among an event's
 * examples; events the examples lack (pull_request.edited, issues.closed) are
 * derived from a sibling by changing what GitHub would change.
 */
export function examplePayload<N extends WebhookEventName>(
  name: N,
  action?: string,
  index?: number,
): WebhookEventMap[N];
export function examplePayload(name: WebhookEventName, action?: string, index = 0): object {
  // The examples' own union type is too large for the checker; each is a payload of its event.
  const definitions = examples as unknown as { name: string; examples: object[] }[];
  const definition = definitions.find((d) => d.name === name);
  if (!definition) throw new Error(`no webhook examples for ${name}`);
  const matching = definition.examples.filter(
    (e) => action === undefined || (e as { action?: string }).action === action,
  );
  const found = matching[index];
  if (found) return structuredClone(found);
  if (name === 'pull_request' && action === 'edited') {
    const opened = examplePayload('pull_request', 'opened');
    const edited = { ...opened, action, changes: { title: { from: 'Old title' } } };
    return edited;
  }
  if (name === 'issues' && action === 'closed') {
    const payload = examplePayload('issues', 'reopened');
    payload.issue.state = 'closed';
    payload.issue.closed_at = payload.issue.updated_at;
    return { ...payload, action };
  }
  throw new Error(`no webhook example for ${name}.${action ?? ''}[${index}]`);
}
