import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { EntityManager, Repository } from 'typeorm';
import { TokenCipher } from '../crypto/token-cipher';
import { patternProblem } from './subscription-matcher';
import { Subscription } from './subscription.entity';

export interface NewSubscription {
  repositoryPattern: string;
  flowToken: string;
  eventKinds?: string[];
  ignoreBots?: boolean;
  requiredLabels?: string[];
}

/** A subscription as shown to operators: never the token, only its fingerprint. */
export type SubscriptionView = Omit<Subscription, 'flowTokenEncrypted'>;

const TOKEN_CONTEXT = 'github-subscription:flow-token';
const EVENT_KIND = /^[a-z_]+(\.[a-z_]+)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const fingerprint = (token: string) =>
  createHash('sha256').update(token).digest('hex').slice(0, 12);

function view(subscription: Subscription): SubscriptionView {
  const shown: Partial<Subscription> = { ...subscription };
  delete shown.flowTokenEncrypted;
  return shown as SubscriptionView;
}

/** Repositories -> flows. Flow tokens are stored encrypted. */
@Injectable()
export class SubscriptionService {
  constructor(
    @InjectRepository(Subscription) private readonly repository: Repository<Subscription>,
    private readonly cipher: TokenCipher,
  ) {}

  async add(input: NewSubscription): Promise<SubscriptionView> {
    const pattern = input.repositoryPattern.trim();
    const token = input.flowToken.trim();
    const problems = [
      patternProblem(pattern),
      token ? null : 'the flow token is empty',
      ...(input.eventKinds ?? [])
        .filter((k) => !EVENT_KIND.test(k))
        .map((k) => `"${k}" is not an event kind (e.g. pull_request or issues.opened)`),
    ].filter((p): p is string => !!p);
    if (problems.length > 0) throw new BadRequestException(problems.join('; '));

    const print = fingerprint(token);
    const existing = await this.repository.findOneBy({
      repositoryPattern: pattern.toLowerCase(),
      flowTokenFingerprint: print,
    });
    if (existing) {
      throw new BadRequestException(
        `${pattern} already posts to that flow (subscription ${existing.id}); remove it first to change its filters`,
      );
    }
    const saved = await this.repository.save(
      this.repository.create({
        repositoryPattern: pattern.toLowerCase(),
        flowTokenEncrypted: this.cipher.encrypt(token, TOKEN_CONTEXT),
        flowTokenFingerprint: print,
        eventKinds: input.eventKinds ?? [],
        ignoreBots: input.ignoreBots ?? false,
        requiredLabels: input.requiredLabels ?? [],
      }),
    );
    return view(saved);
  }

  async remove(id: string): Promise<void> {
    if (!UUID.test(id)) throw new BadRequestException(`"${id}" is not a subscription id`);
    const result = await this.repository.delete({ id });
    if (!result.affected) throw new NotFoundException(`No subscription ${id}`);
  }

  async list(): Promise<SubscriptionView[]> {
    const all = await this.repository.find({
      order: { repositoryPattern: 'ASC', createdAt: 'ASC' },
    });
    return all.map(view);
  }

  /** Subscriptions whose pattern names this repository or its owner's `*`. */
  async forRepository(repository: string, manager?: EntityManager): Promise<Subscription[]> {
    const owner = repository.split('/')[0];
    const repo = manager ? manager.getRepository(Subscription) : this.repository;
    return repo
      .createQueryBuilder('s')
      .where('s.repository_pattern IN (:...patterns)', {
        patterns: [repository.toLowerCase(), `${owner.toLowerCase()}/*`],
      })
      .orderBy('s.created_at', 'ASC')
      .getMany();
  }

  flowToken(subscription: Subscription): string {
    return this.cipher.decrypt(subscription.flowTokenEncrypted, TOKEN_CONTEXT);
  }
}
