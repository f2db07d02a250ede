import { ValidateBy } from 'class-validator';
import {
  IsItemNumber,
  IsOwnerName,
  IsRepoName,
  OWNER_PROBLEM,
  REPO_PROBLEM,
} from '../../common/id-validators';
import { OWNER, REPO } from '../../common/ids';
import { RefusedWith } from '../../http/request-validation';
import { DeliveryAddressException } from '../deliveries-page.filter';

/** What is wrong with `?repo=`, or '' when it is `<owner>/<repo>` as GitHub writes them. */
function repositoryProblems(repository: unknown): string {
  if (repository === undefined) return '?repo=<owner>/<repo> is missing';
  const [owner, repo, ...rest] = typeof repository === 'string' ? repository.split('/') : [];
  if (rest.length > 0 || repo === undefined) return 'repo must be <owner>/<repo>';
  return [OWNER.test(owner) ? null : OWNER_PROBLEM, REPO.test(repo) ? null : REPO_PROBLEM]
    .filter((problem) => problem !== null)
    .join('; ');
}

const IsRepository = () =>
  ValidateBy({
    name: 'isRepository',
    validator: {
      validate: (value: unknown) => repositoryProblems(value) === '',
      defaultMessage: (args) => repositoryProblems(args?.value),
    },
  });

/** `GET /deliveries?repo=<owner>/<repo>`: a repository's log. */
@RefusedWith((problems) => new DeliveryAddressException(problems))
export class RepositoryLogQuery {
  @IsRepository()
  repo: string;
}

/** `GET /deliveries/:owner/:repo/:number`: an item's log. */
@RefusedWith((problems) => new DeliveryAddressException(problems))
export class ItemLogParams {
  @IsOwnerName()
  owner: string;

  @IsRepoName()
  repo: string;

  @IsItemNumber()
  number: string;
}
