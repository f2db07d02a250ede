import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { FlowdockFlow } from '../flowdock/flowdock-api.types';
import { FlowdockClient } from '../flowdock/flowdock-client';
import { FlowdockSourceService, StreamGrant } from '../flowdock/flowdock-source.service';
import {
  eventKindProblem,
  patternProblem,
  SubscriptionRules,
  userPatternProblem,
} from '../subscriptions/subscription-matcher';
import { SubscriptionService } from '../subscriptions/subscription.service';

/** What the person asked for on the setup form, validated: one subscription's rules per repository. */
export interface SetupRequest extends Omit<SubscriptionRules, 'repositoryPattern'> {
  repositories: string[];
}

/** The setup form's text fields as posted (the DTO has checked each is one string). */
export interface SetupFormFields {
  repositories?: string;
  events?: string;
  labels?: string;
  excludeLabels?: string;
  excludeUsers?: string;
  ignoreBots?: string;
  announceDrafts?: string;
}

export interface ConnectedRepository {
  repository: string;
  subscriptionId: string;
  sourceId: string;
}

/** Sources created in Flowdock whose subscriptions were not stored; named so a person can remove them. */
export class SetupIncompleteError extends Error {
  constructor(
    readonly flow: FlowdockFlow,
    readonly orphanSources: { repository: string; id: string }[],
    readonly reason: unknown,
  ) {
    super(
      `Flowdock setup of ${flow.path} stored nothing; sources created in Flowdock and left unused: ` +
        (orphanSources.map((s) => `${s.id} (${s.repository})`).join(', ') || 'none'),
    );
    this.name = 'SetupIncompleteError';
  }
}

/** Upper bound per form: each repository is one call to Flowdock while the person waits. */
export const MAX_REPOSITORIES = 30;
const LABEL_MAX = 100;

const list = (text: string, separator: RegExp) =>
  text
    .split(separator)
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** Problems with the form, each a sentence; an empty list when it can be used. */
export function parseSetupForm(form: SetupFormFields): {
  request: SetupRequest;
  problems: string[];
} {
  const repositories = [
    ...new Set(list(form.repositories ?? '', /\r?\n/).map((r) => r.toLowerCase())),
  ];
  const eventKinds = [...new Set(list(form.events ?? '', /[\s,]+/))];
  const requiredLabels = [...new Set(list(form.labels ?? '', /,/))];
  const excludeLabels = [...new Set(list(form.excludeLabels ?? '', /,/))];
  const excludeUsers = [...new Set(list(form.excludeUsers ?? '', /[\s,]+/))];
  const problems = [
    ...(repositories.length === 0
      ? ['Enter at least one repository (owner/repo or owner/*).']
      : []),
    ...(repositories.length > MAX_REPOSITORIES
      ? [`Enter at most ${MAX_REPOSITORIES} repositories at a time.`]
      : []),
    ...repositories.map(patternProblem).filter((p): p is string => p !== null),
    ...eventKinds.map(eventKindProblem).filter((p): p is string => p !== null),
    ...excludeUsers.map(userPatternProblem).filter((p): p is string => p !== null),
    ...[...requiredLabels, ...excludeLabels]
      .filter((label) => label.length > LABEL_MAX)
      .map((label) => `A label is longer than ${LABEL_MAX} characters: "${label.slice(0, 20)}…"`),
  ];
  return {
    request: {
      repositories,
      eventKinds,
      ignoreBots: form.ignoreBots === 'on' || form.ignoreBots === 'true',
      requiredLabels,
      excludeLabels,
      excludeUsers,
      // Drafts stay silent until ready unless the box is ticked.
      drafts:
        form.announceDrafts === 'on' || form.announceDrafts === 'true' ? 'announce' : 'when-ready',
    },
    problems,
  };
}

/**
 * Connects repositories to a flow for the setup flow: one Flowdock source per
 * repository (created with the person's access token), then every source
 * (with the person's grant as its stream token) and subscription stored in
 * one transaction, so a failure stores nothing.
 */
@Injectable()
export class FlowdockSetupService {
  private readonly logger = new Logger('FlowdockSetup');
  private readonly githubUrl: string;

  constructor(
    private readonly client: FlowdockClient,
    private readonly sources: FlowdockSourceService,
    private readonly subscriptions: SubscriptionService,
    @InjectDataSource() private readonly dataSource: DataSource,
    config: ConfigService<AppConfig, true>,
  ) {
    this.githubUrl = config.get('github', { infer: true }).url;
  }

  /** Where a repository (or an owner, for owner/*) is on GitHub. */
  repositoryUrl(pattern: string): string {
    const [owner, repo] = pattern.split('/');
    return repo === '*' ? `${this.githubUrl}/${owner}` : `${this.githubUrl}/${owner}/${repo}`;
  }

  /** Repositories of the request that already post to this flow (a second source would post twice). */
  async alreadyConnected(flow: FlowdockFlow, repositories: string[]): Promise<string[]> {
    const taken: string[] = [];
    for (const repository of repositories) {
      const existing = await this.subscriptions.forRepositories([repository]);
      for (const subscription of existing) {
        if (subscription.repositoryPattern !== repository) continue;
        const source = await this.sources.get(subscription.sourceId);
        if (source?.flow === flow.path && !source.disabledAt) taken.push(repository);
      }
    }
    return [...new Set(taken)];
  }

  /**
   * connect(), unless a repository of the request already posts to the flow
   * (`taken`). Set-ups of the same flow and repository, in this process or
   * another replica, wait for each other (an advisory lock per pair, held from
   * the check to the commit), so two at once cannot both create a source.
   */
  async connectOnce(
    grant: StreamGrant,
    flow: FlowdockFlow,
    request: SetupRequest,
  ): Promise<{ taken: string[] } | { connected: ConnectedRepository[] }> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    // Sorted, so that overlapping set-ups take their locks in one order.
    const keys = [...new Set(request.repositories.map((r) => r.toLowerCase()))]
      .sort()
      .map((repository) => `flowdock-setup:${flow.path}:${repository}`);
    try {
      for (const key of keys) await runner.query(`SELECT pg_advisory_lock(hashtext($1))`, [key]);
      const taken = await this.alreadyConnected(flow, request.repositories);
      if (taken.length > 0) return { taken };
      return { connected: await this.connect(grant, flow, request) };
    } finally {
      for (const key of keys) {
        await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [key]).catch(() => undefined);
      }
      await runner.release();
    }
  }

  /**
   * Creates the sources in Flowdock, then stores them with their subscriptions
   * in one transaction. When a remote call or the local commit fails, nothing
   * is stored and SetupIncompleteError names the sources already created in
   * Flowdock: they have no stored token, so they never receive anything, and
   * a person can remove them from the flow's integrations.
   */
  async connect(
    grant: StreamGrant,
    flow: FlowdockFlow,
    request: SetupRequest,
  ): Promise<ConnectedRepository[]> {
    const { accessToken } = grant;
    const created: { repository: string; id: string; flowToken: string }[] = [];
    const orphans = () => created.map(({ repository, id }) => ({ repository, id }));
    try {
      for (const repository of request.repositories) {
        const source = await this.client.createSource(
          accessToken,
          { organization: flow.organization, flow: flow.flow },
          { name: repository, externalUrl: this.repositoryUrl(repository) },
        );
        created.push({ repository, id: source.id, flowToken: source.flowToken });
      }
    } catch (error) {
      if (created.length === 0) throw error;
      const incomplete = new SetupIncompleteError(flow, orphans(), error);
      // FlowdockError messages carry no token or code.
      this.logger.warn(`${incomplete.message}: ${(error as Error).message}`);
      throw incomplete;
    }

    try {
      return await this.dataSource.transaction(async (manager) => {
        const connected: ConnectedRepository[] = [];
        for (const { repository, flowToken } of created) {
          const source = await this.sources.register(
            { flowToken, flow: flow.path, name: repository },
            manager,
          );
          // The person's grant reads the flow's stream: replies in these threads are heard.
          await this.sources.setStreamGrant(source.id, grant, {}, manager);
          const subscription = await this.subscriptions.add(
            {
              repositoryPattern: repository,
              flowToken,
              eventKinds: request.eventKinds,
              ignoreBots: request.ignoreBots,
              requiredLabels: request.requiredLabels,
              excludeLabels: request.excludeLabels,
              excludeUsers: request.excludeUsers,
              drafts: request.drafts,
            },
            manager,
          );
          connected.push({
            repository,
            subscriptionId: subscription.id,
            sourceId: subscription.sourceId,
          });
        }
        return connected;
      });
    } catch (error) {
      const incomplete = new SetupIncompleteError(flow, orphans(), error);
      this.logger.error(
        `${incomplete.message}: ${error instanceof BadRequestException ? error.message : String((error as Error)?.name)}`,
      );
      throw incomplete;
    }
  }
}
