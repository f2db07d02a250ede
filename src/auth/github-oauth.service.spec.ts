import {
  classifyGitHubError,
  GitHubRefusedError,
  GitHubUnavailableError,
} from './github-oauth.service';

describe('classifyGitHubError', () => {
  it('an OAuth error answer is a refusal naming only the error code', () => {
    const error = classifyGitHubError(
      {
        status: 400,
        message: 'The code passed is incorrect (bad_verification_code) code=abc123',
        response: { data: { error: 'bad_verification_code' } },
      },
      'the code exchange',
    );
    expect(error).toBeInstanceOf(GitHubRefusedError);
    expect(error.message).toBe('GitHub refused the code exchange: bad_verification_code');
  });

  it('no answer (network, timeout) or a 5xx is "unavailable"', () => {
    expect(classifyGitHubError({ status: 500, message: 'fetch failed' }, 'x')).toBeInstanceOf(
      GitHubUnavailableError,
    );
    expect(classifyGitHubError(new Error('boom'), 'x')).toBeInstanceOf(GitHubUnavailableError);
    const bad = classifyGitHubError({ status: 502, response: { data: {} } }, 'x');
    expect(bad).toBeInstanceOf(GitHubUnavailableError);
    expect(bad.message).toContain('HTTP 502');
  });

  it('a 4xx without an OAuth error names the status', () => {
    const error = classifyGitHubError(
      { status: 401, response: { data: { message: 'Bad credentials' } } },
      'y',
    );
    expect(error).toBeInstanceOf(GitHubRefusedError);
    expect(error.message).toBe('GitHub refused y: HTTP 401');
  });
});
