import { MAX_REPOSITORIES, parseSetupForm } from './flowdock-setup.service';

describe('parseSetupForm', () => {
  it('reads one repository per line, lower-cased and without duplicates or blanks', () => {
    const { request, problems } = parseSetupForm({
      repositories: 'Acme/Widgets\r\n\n  acme/widgets \nacme/*\n',
      events: 'pull_request,  issues.opened pull_request',
      labels: ' ops , needs review,,',
      excludeLabels: 'wip,',
      excludeUsers: 'dependabot*, *[bot]',
      ignoreBots: 'on',
    });
    expect(problems).toEqual([]);
    expect(request).toEqual({
      repositories: ['acme/widgets', 'acme/*'],
      eventKinds: ['pull_request', 'issues.opened'],
      ignoreBots: true,
      requiredLabels: ['ops', 'needs review'],
      excludeLabels: ['wip'],
      excludeUsers: ['dependabot*', '*[bot]'],
      drafts: 'when-ready',
    });
  });

  it('names every invalid repository and event kind', () => {
    const { problems } = parseSetupForm({
      repositories: 'acme/ok\nnot a repo\nacme/a/b\n*/x',
      events: 'Pull-Request',
    });
    expect(problems).toEqual([
      '"not a repo" is not a repository: use owner/repo or owner/*',
      '"acme/a/b" is not a repository: use owner/repo or owner/*',
      '"*/x" is not a repository: use owner/repo or owner/*',
      '"Pull-Request" is not an event kind (e.g. pull_request or issues.opened)',
    ]);
  });

  it('needs at least one repository and at most the limit', () => {
    expect(parseSetupForm({ repositories: ' \n ' }).problems).toEqual([
      'Enter at least one repository (owner/repo or owner/*).',
    ]);
    const many = Array.from({ length: MAX_REPOSITORIES + 1 }, (_, i) => `acme/r${i}`).join('\n');
    expect(parseSetupForm({ repositories: many }).problems).toEqual([
      `Enter at most ${MAX_REPOSITORIES} repositories at a time.`,
    ]);
    expect(parseSetupForm({ repositories: 'acme/x' }).request.ignoreBots).toBe(false);
    expect(parseSetupForm({ repositories: 'acme/x', announceDrafts: 'on' }).request.drafts).toBe(
      'announce',
    );
    expect(parseSetupForm({ repositories: 'acme/x', excludeUsers: 'a b *' }).problems).toEqual([
      '"*" is not a login or login pattern (letters, digits, - _ . [ ] and the wildcards * ?)',
    ]);
  });
});
