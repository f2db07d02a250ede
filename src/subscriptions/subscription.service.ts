import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { FlowdockSourceService } from '../flowdock/flowdock-source.service';
import {
  DRAFT_RULES,
  DraftRule,
  eventKindProblem,
  patternProblem,
  userPatternProblem,
} from './subscription-matcher';
import { Subscription } from './subscription.entity';
import { UUID } from '../common/ids';
import { entitySelect } from '../database/entity-select';
import { SqlSession } from '../database/pipelined-transaction';

export interface NewSubscription {
  repositoryPattern: string;
  flowToken: string;
  eventKinds?: string[];
  ignoreBots?: boolean;
  requiredLabels?: string[];
  excludeLabels?: string[];
  excludeUsers?: string[];
  drafts?: DraftRule;
}

/**
 * Repositories -> flows. The flow token is registered as a Flowdock source
 * (stored encrypted there, one source per token); a subscription names the
 * source, so it never holds or shows the token.
 */
@Injectable()
export class SubscriptionService {
  constructor(
    @InjectRepository(Subscription) private readonly repository: Repository<Subscription>,
    private readonly dataSource: DataSource,
    private readonly sources: FlowdockSourceService,
  ) {}

  /** Adds a subscription; inside `manager`'s transaction when given (as a savepoint). */
  async add(input: NewSubscription, manager?: EntityManager): Promise<Subscription> {
    const pattern = input.repositoryPattern.trim();
    const token = input.flowToken.trim();
    const problems = [
      patternProblem(pattern),
      token ? null : 'the flow token is empty',
      ...(input.eventKinds ?? []).map(eventKindProblem),
      ...(input.excludeUsers ?? []).map(userPatternProblem),
      input.drafts === undefined || DRAFT_RULES.includes(input.drafts)
        ? null
        : `drafts must be ${DRAFT_RULES.join(' or ')}`,
      ...[...(input.requiredLabels ?? []), ...(input.excludeLabels ?? [])]
        .filter((l) => l.trim() === '' || l.length > 100)
        .map((l) => `"${l.slice(0, 100)}" is not a label (1 to 100 characters)`),
    ].filter((p): p is string => !!p);
    if (problems.length > 0) throw new BadRequestException(problems.join('; '));

    return (manager ?? this.dataSource.manager).transaction(async (manager) => {
      const source = await this.sources.register({ flowToken: token, name: pattern }, manager);
      const existing = await manager.findOneBy(Subscription, {
        repositoryPattern: pattern.toLowerCase(),
        sourceId: source.id,
      });
      if (existing) {
        throw new BadRequestException(
          `${pattern} already posts to that flow (subscription ${existing.id}); remove it first to change its filters`,
        );
      }
      return manager.save(
        manager.create(Subscription, {
          repositoryPattern: pattern.toLowerCase(),
          sourceId: source.id,
          eventKinds: input.eventKinds ?? [],
          ignoreBots: input.ignoreBots ?? false,
          requiredLabels: input.requiredLabels ?? [],
          excludeLabels: input.excludeLabels ?? [],
          excludeUsers: input.excludeUsers ?? [],
          drafts: input.drafts ?? 'when-ready',
        }),
      );
    });
  }

  async remove(id: string): Promise<void> {
    if (!UUID.test(id)) throw new BadRequestException(`"${id}" is not a subscription id`);
    const result = await this.repository.delete({ id });
    if (!result.affected) throw new NotFoundException(`No subscription ${id}`);
  }

  async list(): Promise<Subscription[]> {
    return this.repository.find({ order: { repositoryPattern: 'ASC', createdAt: 'ASC' } });
  }

  /** Subscriptions whose pattern names one of these repositories or its owner's `*`, oldest first. */
  async forRepositories(repositories: string[], session?: SqlSession): Promise<Subscription[]> {
    if (repositories.length === 0) return [];
    const patterns = new Set<string>();
    for (const repository of repositories) {
      patterns.add(repository.toLowerCase());
      patterns.add(`${repository.split('/')[0].toLowerCase()}/*`);
    }
    // Plain SQL, so that a pipelined transaction (the processor's) can run it too.
    return (session ?? this.dataSource).query<Subscription[]>(
      `${entitySelect(this.dataSource, Subscription)} WHERE repository_pattern = ANY($1::text[])
       ORDER BY created_at`,
      [[...patterns]],
    );
  }
}
