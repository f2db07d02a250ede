import { IsIn, ValidateBy } from 'class-validator';
import { IsItemNumber, IsOwnerName, IsRepoName } from '../../common/id-validators';
import { PULL_REQUEST_ACTIONS, THREAD_ACTIONS } from '../../threads/thread-actions';
import type { ThreadAction } from '../../threads/thread-actions';
import type { ActionTarget } from '../github-actions.service';

/** Approve and Merge on an issue: the action exists, the item has no such thing. */
const ForPullRequestsOnly = () =>
  ValidateBy({
    name: 'forPullRequestsOnly',
    validator: {
      validate: (action: unknown, args) =>
        (args?.object as ActionRouteParams).kind !== 'issues' ||
        !PULL_REQUEST_ACTIONS.includes(action as ThreadAction),
      defaultMessage: (args) => `${String(args?.value)} is for pull requests only`,
    },
  });

/**
 * `POST /flowdock/actions/:owner/:repo/:kind/:number/:action`: the item an
 * UpdateAction acts on, as GitHub would write it. The number is decimal
 * digits only ("0x10", "1e3" or " 6" name no item), so nothing but the
 * item in the URL is ever acted on.
 */
export class ActionRouteParams {
  @IsOwnerName()
  owner: string;

  @IsRepoName()
  repo: string;

  @IsIn(['pulls', 'issues'], { message: 'kind must be pulls or issues' })
  kind: ActionTarget['kind'];

  @IsItemNumber()
  number: string;

  @ForPullRequestsOnly()
  @IsIn(THREAD_ACTIONS, { message: `action must be one of ${THREAD_ACTIONS.join(', ')}` })
  action: ThreadAction;

  get target(): ActionTarget {
    return { owner: this.owner, repo: this.repo, kind: this.kind, number: Number(this.number) };
  }
}
