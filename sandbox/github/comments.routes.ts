import { FastifyReply, FastifyRequest } from 'fastify';
import { GitHubRoutes } from './github-simulator';
import { GitHubReposState, SimComment, SimItem, SimRepo } from './github-repos-state';
import { issueJson, repoJson, userJson } from './repos.routes';
import { examplePayload } from './webhook-examples';

type Params = { owner: string; repo: string; number: string };
type ItemRequest = FastifyRequest<{ Params: Params; Body: unknown }>;

const DOCS = 'https://docs.github.com/rest/issues/comments';

/** How GitHub labels a commenter's relation to the repository. */
function association(repo: SimRepo, login: string): string {
  if (login === repo.owner) return 'OWNER';
  return repo.permissions.has(login) ? 'COLLABORATOR' : 'NONE';
}

/** An issue comment as the REST API and the `issue_comment` webhook show it. */
function commentJson(web: string, repo: SimRepo, item: SimItem, comment: SimComment) {
  const issue = issueJson(web, repo, item);
  return {
    id: comment.id,
    body: comment.body,
    user: userJson(comment.author, web),
    html_url: `${issue.html_url}#issuecomment-${comment.id}`,
    created_at: comment.createdAt,
    updated_at: comment.createdAt,
    author_association: association(repo, comment.author),
  };
}

/**
 * Adds a comment to an issue or pull request (GitHub keeps pull request
 * conversations as issue comments); the item's pages show it at once.
 */
export function addComment(
  repos: GitHubReposState,
  item: SimItem,
  login: string,
  body: string,
): SimComment {
  const comment: SimComment = { id: repos.nextId(), author: login, body, createdAt: repos.tick() };
  item.comments.push(comment);
  return comment;
}

/** The `issue_comment` `created` webhook of a new comment, signed, to the repository's hooks. */
export async function emitCommentCreated(
  repos: GitHubReposState,
  repo: SimRepo,
  item: SimItem,
  comment: SimComment,
): Promise<Response | undefined> {
  if (repos.hooksOf(repo).length === 0) return undefined;
  const web = repos.webUrl;
  return repos.emit(repo, 'issue_comment', {
    ...examplePayload('issue_comment', 'created'),
    action: 'created',
    issue: issueJson(web, repo, item),
    comment: commentJson(web, repo, item, comment),
    repository: repoJson(web, repo),
    sender: userJson(comment.author, web),
  });
}

/**
 * GET and POST /repos/:owner/:repo/issues/:number/comments (pull requests
 * too, by their number). Posting needs a token (401 Bad credentials /
 * Requires authentication) of a user who can see the repository: anyone for a
 * public one, as on GitHub; a private repository hides itself (404), as do an
 * unknown repository or number. A locked conversation takes comments only from
 * users with write access (403). An empty body is 422. 201 with the comment,
 * then the `issue_comment` webhook.
 */
export function githubCommentRoutes(repos: GitHubReposState): GitHubRoutes {
  return (app, state) => {
    const notFound = (reply: FastifyReply) =>
      reply.code(404).send({ message: 'Not Found', documentation_url: DOCS });

    /** The user (if any), repository and item, or null once GitHub's refusal was sent. */
    const resolve = (req: ItemRequest, reply: FastifyReply) => {
      if (repos.failWith) {
        void reply.code(repos.failWith).send({ message: 'Server Error' });
        return null;
      }
      const user = state.authenticate(req.headers.authorization)?.user ?? null;
      if (req.headers.authorization && !user) {
        void reply.code(401).send({ message: 'Bad credentials', documentation_url: DOCS });
        return null;
      }
      const repo = repos.repo(`${req.params.owner}/${req.params.repo}`);
      const item = repo?.items.get(Number(req.params.number));
      if (!repo || !item || !repos.can(repo, user?.login ?? null, 'read')) {
        void notFound(reply);
        return null;
      }
      return { user, repo, item };
    };

    app.get('/repos/:owner/:repo/issues/:number/comments', async (req: ItemRequest, reply) => {
      const found = resolve(req, reply);
      if (!found) return reply;
      const { repo, item } = found;
      return reply.send(item.comments.map((c) => commentJson(repos.webUrl, repo, item, c)));
    });

    app.post('/repos/:owner/:repo/issues/:number/comments', async (req: ItemRequest, reply) => {
      const found = resolve(req, reply);
      if (!found) return reply;
      const { user, repo, item } = found;
      if (!user) {
        return reply
          .code(401)
          .send({ message: 'Requires authentication', documentation_url: DOCS });
      }
      if (item.locked && !repos.can(repo, user.login, 'write')) {
        return reply.code(403).send({
          message: 'Unable to create comment because issue is locked.',
          documentation_url: DOCS,
        });
      }
      const body = (req.body as { body?: unknown } | null)?.body;
      if (typeof body !== 'string' || body.trim() === '') {
        return reply.code(422).send({
          message: 'Validation Failed',
          errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }],
          documentation_url: DOCS,
        });
      }
      const comment = addComment(repos, item, user.login, body);
      item.updatedAt = comment.createdAt;
      await reply.code(201).send(commentJson(repos.webUrl, repo, item, comment));
      await emitCommentCreated(repos, repo, item, comment);
      return reply;
    });
  };
}
