import { ClaimService } from '../../src/auth/claim.service';
import { LinkedAccountService } from '../../src/auth/linked-account.service';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/app.config';

export interface BenchLink {
  flowdockUserId: string;
  github: { id: number; login: string };
  accessToken: string;
}

/**
 * Links Flowdock users to GitHub users as the OAuth callback does: a claim is
 * issued and spent by LinkedAccountService.link, in an application of the
 * same configuration as the bridge (same database, same encryption key).
 */
export async function linkUsers(
  env: Record<string, string>,
  links: BenchLink[],
): Promise<string[]> {
  const { config } = loadConfig({ ...env, NODE_ENV: 'test', LOG_LEVEL: 'error' });
  const app = await createApp(config);
  await app.init();
  try {
    const claims = app.get(ClaimService);
    const accounts = app.get(LinkedAccountService);
    for (const link of links) {
      const claim = await claims.verify(await claims.issueClaim(link.flowdockUserId));
      const outcome = await accounts.link({
        flowdockUserId: link.flowdockUserId,
        claimJti: claim.jti,
        github: link.github,
        tokens: { accessToken: link.accessToken, scopes: ['repo'] },
      });
      if (outcome !== 'linked') throw new Error(`linking ${link.flowdockUserId}: ${outcome}`);
    }
  } finally {
    await app.close();
  }
  return links.map((l) => l.flowdockUserId);
}
