import { BadRequestException } from '@nestjs/common';
import { Command, CommandRunner, Help, Option, SubCommand } from 'nest-commander';
import { OWNER, REPO } from '../common/ids';
import { CommandGroup } from './cli-program';
import { GitHubRedelivery, HookOwner, Redelivery } from './github-redelivery';

const DURATION = /^([1-9][0-9]{0,5})([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const HOOK_ID = /^[1-9][0-9]{0,15}$/;
const DEFAULT_SINCE_MS = 6 * UNIT_MS.h;

interface RedeliverOptions {
  repo?: { owner: string; repo: string };
  org?: string;
  hookId?: number;
  since?: number;
  dryRun?: boolean;
}

const describe = (r: Redelivery) =>
  [r.guid, r.event, r.action ?? '-', r.deliveredAt, r.why].join('\t');

function hookOwner(options: RedeliverOptions): HookOwner {
  if (options.repo && options.org) {
    throw new BadRequestException('--repo and --org name different hooks: give one of them');
  }
  if (options.org) return { org: options.org };
  if (options.repo) return options.repo;
  throw new BadRequestException('whose hook? give --repo owner/repo or --org org');
}

@SubCommand({
  name: 'redeliver',
  description:
    'ask GitHub to send again the webhooks the bridge missed (failed, or never recorded)',
})
class RedeliverWebhooksCommand extends CommandRunner {
  constructor(private readonly github: GitHubRedelivery) {
    super();
  }

  async run(_args: string[], options: RedeliverOptions): Promise<void> {
    const owner = hookOwner(options);
    const since = new Date(Date.now() - (options.since ?? DEFAULT_SINCE_MS));
    const plan = await this.github.plan(owner, options.hookId, since);
    const where = `hook ${plan.hook.id} of ${'org' in owner ? owner.org : `${owner.owner}/${owner.repo}`}`;
    const after = since.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const scope = `${plan.deliveries} deliveries to ${where} since ${after}`;
    if (plan.deliveries === 0) {
      process.stdout.write(`Nothing to redeliver: no deliveries to ${where} since ${after}.\n`);
      return;
    }
    if (plan.redeliveries.length === 0) {
      process.stdout.write(`Nothing to redeliver: the bridge recorded all ${scope}.\n`);
      return;
    }
    const counts = `${plan.redeliveries.length} of the ${scope}; the bridge recorded ${plan.recorded}`;
    if (options.dryRun) {
      process.stdout.write(plan.redeliveries.map((r) => `${describe(r)}\n`).join(''));
      process.stdout.write(
        `Dry run: would ask GitHub to redeliver ${counts}. Asked for nothing.\n`,
      );
      return;
    }
    let asked = 0;
    for (const redelivery of plan.redeliveries) {
      try {
        await this.github.redeliver(owner, plan.hook.id, redelivery.id);
      } catch (error) {
        process.stdout.write(`Asked GitHub to redeliver ${asked}; it refused the next one.\n`);
        throw error;
      }
      asked += 1;
      process.stdout.write(`${describe(redelivery)}\n`);
    }
    process.stdout.write(
      `Asked GitHub to redeliver ${counts}. GitHub sends them within moments; ` +
        'a --dry-run a minute later shows what is still missing.\n',
    );
  }

  @Help('after')
  examples(): string {
    return `
GitHub does not send a failed webhook again by itself. This lists the hook's
deliveries since --since (newest first, as GitHub keeps them: a few days), and
asks GitHub to redeliver each one the bridge has no record of (by its
X-GitHub-Delivery id), whether GitHub saw it fail ("failed: 502", "failed: 0"
when the bridge was unreachable) or not ("never recorded"). Deliveries the
bridge recorded are never asked for again, so running it twice is harmless.

Needs GITHUB_ADMIN_TOKEN: a token with the admin:repo_hook scope (admin:org_hook
for --org) of a user with admin rights on the repository (an owner of the
organization). Without --hook-id, the hook is the one whose URL is
PUBLIC_URL…/github/webhooks.

Output: one line per redelivery (guid, event, action, first delivered at, why),
then a summary.

Examples:
  npm run cli -- webhooks redeliver --repo acme/widgets --dry-run
  npm run cli -- webhooks redeliver --repo acme/widgets --since 2d
  npm run cli -- webhooks redeliver --org acme --hook-id 4242 --since 30m`;
  }

  @Option({ flags: '--repo <owner/repo>', description: 'the repository whose hook to recover' })
  parseRepo(value: string): { owner: string; repo: string } {
    const [owner, repo, ...rest] = value.split('/');
    if (rest.length > 0 || !OWNER.test(owner) || !REPO.test(repo ?? '')) {
      throw new BadRequestException(`--repo ${value} is not a repository: use owner/repo`);
    }
    return { owner, repo };
  }

  @Option({ flags: '--org <org>', description: "an organization's hook instead of a repository's" })
  parseOrg(value: string): string {
    if (!OWNER.test(value)) throw new BadRequestException(`--org ${value} is not an organization`);
    return value;
  }

  @Option({
    flags: '--hook-id <id>',
    description: "the hook's id (default: the one that delivers to PUBLIC_URL)",
  })
  parseHookId(value: string): number {
    if (!HOOK_ID.test(value)) throw new BadRequestException(`--hook-id ${value} is not a hook id`);
    return Number(value);
  }

  @Option({
    flags: '--since <duration>',
    description: 'how far back to look: 30m, 6h, 2d (default 6h; at most DELIVERY_RETENTION_DAYS)',
  })
  parseSince(value: string): number {
    const match = DURATION.exec(value);
    if (!match) {
      throw new BadRequestException(`--since ${value} is not a duration: use 30m, 6h or 2d`);
    }
    return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }

  @Option({ flags: '--dry-run', description: 'print what would be redelivered, ask for nothing' })
  parseDryRun(): boolean {
    return true;
  }
}

@Command({
  name: 'webhooks',
  description: "GitHub's webhooks to the bridge: recover the ones it missed",
  subCommands: [RedeliverWebhooksCommand],
})
export class WebhooksCommand extends CommandGroup {
  static readonly subCommands = [RedeliverWebhooksCommand];
}
