import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDotEnv } from './dot-env';

function dirWith(dotEnv: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'dot-env-'));
  writeFileSync(join(dir, '.env'), dotEnv);
  return dir;
}

describe('loadDotEnv', () => {
  it('fills unset variables from .env; set ones (even empty) win', () => {
    const dir = dirWith(
      [
        '# a comment',
        'PORT=4000',
        'PUBLIC_URL=https://from-file.example.org',
        'LOG_LEVEL=debug',
        'FLOWDOCK_CLIENT_SECRET="a b#c"',
        "GITHUB_CLIENT_ID='single quoted'",
        'export GITHUB_URL=https://ghe.example.org',
        '',
      ].join('\n'),
    );
    const env: Record<string, string | undefined> = {
      PUBLIC_URL: 'https://from-environment.example.org',
      LOG_LEVEL: '',
    };
    expect(loadDotEnv(env, dir)).toBe(join(dir, '.env'));
    expect(env).toEqual({
      PORT: '4000',
      PUBLIC_URL: 'https://from-environment.example.org',
      LOG_LEVEL: '',
      FLOWDOCK_CLIENT_SECRET: 'a b#c',
      GITHUB_CLIENT_ID: 'single quoted',
      GITHUB_URL: 'https://ghe.example.org',
    });
  });

  it('does nothing without a .env file', () => {
    const env = { PORT: '1' };
    expect(loadDotEnv(env, mkdtempSync(join(tmpdir(), 'dot-env-')))).toBeUndefined();
    expect(env).toEqual({ PORT: '1' });
  });

  it('refuses a .env it cannot read, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dot-env-'));
    mkdirSync(join(dir, '.env'));
    expect(() => loadDotEnv({}, dir)).toThrow(`.env: cannot read ${join(dir, '.env')} (EISDIR)`);
  });
});
