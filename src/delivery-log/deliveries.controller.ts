import { Controller, Get, Param, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app.config';
import { DeliveriesPageFilter } from './deliveries-page.filter';
import { sendHtml } from '../http/html-response';
import { itemPage, repositoryPage, sendMessagePage } from './deliveries-pages';
import { DeliveriesSessionService, DeliveriesViewer } from './deliveries-session.service';
import { DeliveriesSignIn, itemPath, repositoryPath } from './deliveries-sign-in';
import { DeliveryLogService, REPOSITORY_PAGE_ROWS, RouteView } from './delivery-log.service';
import { ItemLogParams, RepositoryLogQuery } from './dto/delivery-log-address.dto';

/** Who may see a repository's log, and which of its flows' messages. */
interface Access {
  allowed: boolean;
  admin: boolean;
  /** Sources whose messages the viewer may see (all for an admin). */
  visible: (sourceId: string) => boolean;
}

/**
 * GET /deliveries?repo=owner/repo and GET /deliveries/:owner/:repo/:number:
 * "why was I (not) notified". What GitHub sent about a repository or an item,
 * what the bridge made of each delivery (the rule that dropped it, the reason
 * it failed) and what it sent to which flow, with each message's status.
 * Flowdock sign-in; members of a flow the repository posts to and the users of
 * ADMIN_FLOWDOCK_USERS only. An address that names no repository or item is
 * refused (DeliveriesPageFilter) before any sign-in. The handlers answer on
 * the reply: a viewer who is not signed in is redirected to Flowdock.
 */
@Controller('deliveries')
@UseFilters(DeliveriesPageFilter)
export class DeliveriesController {
  private readonly admins: Set<string>;
  private readonly unconfigured: string[];
  private readonly apiUrl: string;
  private readonly githubUrl: string;
  private readonly retentionDays: number;

  constructor(
    private readonly log: DeliveryLogService,
    private readonly sessions: DeliveriesSessionService,
    private readonly signIn: DeliveriesSignIn,
    config: ConfigService<AppConfig, true>,
  ) {
    const flowdock = config.get('flowdock', { infer: true });
    const github = config.get('github', { infer: true });
    this.admins = new Set(flowdock.adminUsers);
    this.apiUrl = flowdock.apiUrl;
    this.unconfigured = config
      .get('generated', { infer: true })
      .filter((name) => name.startsWith('FLOWDOCK_'))
      .sort();
    this.githubUrl = github.url;
    this.retentionDays = github.deliveryRetentionDays;
  }

  @Get()
  async repository(
    @Query() query: RepositoryLogQuery,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    const repository = query.repo;
    const viewer = await this.viewer(request, reply, repositoryPath(repository));
    if (!viewer) return reply;
    const routes = await this.log.routes(repository);
    const access = this.access(viewer, routes);
    if (!access.allowed) return this.forbidden(reply, viewer, repository, routes);
    const { deliveries, counts } = await this.log.repositoryDeliveries(repository);
    return sendHtml(
      reply,
      200,
      repositoryPage({
        viewer,
        repository,
        routes: routes.filter((r) => access.visible(r.source.id)),
        deliveries,
        counts,
        limit: REPOSITORY_PAGE_ROWS,
        retentionDays: this.retentionDays,
      }),
    );
  }

  @Get(':owner/:repo/:number')
  async item(
    @Param() params: ItemLogParams,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    const repository = `${params.owner}/${params.repo}`;
    const number = Number(params.number);
    const viewer = await this.viewer(request, reply, itemPath(params.owner, params.repo, number));
    if (!viewer) return reply;
    const routes = await this.log.routes(repository);
    const access = this.access(viewer, routes);
    if (!access.allowed) return this.forbidden(reply, viewer, repository, routes);
    const [deliveries, sends] = await Promise.all([
      this.log.itemDeliveries(repository, number),
      this.log.itemSends(repository, number),
    ]);
    const visibleSends = sends.filter((s) => access.visible(s.source.id));
    return sendHtml(
      reply,
      200,
      itemPage({
        viewer,
        repository,
        number,
        githubUrl: this.githubUrl,
        routes: routes.filter((r) => access.visible(r.source.id)),
        deliveries,
        sends: visibleSends,
        hiddenSends: sends.length - visibleSends.length,
        retentionDays: this.retentionDays,
      }),
    );
  }

  /** The signed-in viewer; otherwise the reply is sent (503, or the redirect to sign in). */
  private async viewer(
    request: FastifyRequest,
    reply: FastifyReply,
    returnTo: string,
  ): Promise<DeliveriesViewer | null> {
    if (this.unconfigured.length > 0) {
      const names = this.unconfigured.join(' and ');
      await sendMessagePage(reply, {
        status: 503,
        title: 'Flowdock sign-in is not set up',
        message: `The delivery log needs a Flowdock sign-in, and the bridge has no Flowdock application configured: ${names} ${this.unconfigured.length > 1 ? 'are' : 'is'} not set, so ${this.apiUrl} would refuse it.`,
        next: `Set ${names} to your Flowdock OAuth application's values (in the environment or in .env), then restart the bridge.`,
      });
      return null;
    }
    const viewer = await this.sessions.read(request);
    if (!viewer) await this.signIn.begin(reply, returnTo);
    return viewer;
  }

  /**
   * Admins see everything; members of a flow the repository posts to see the
   * repository, and the messages of their own flows. A source whose flow is
   * unknown (made from a bare flow token) matches nobody's flows.
   */
  private access(viewer: DeliveriesViewer, routes: RouteView[]): Access {
    if (this.admins.has(viewer.flowdockUserId)) {
      return { allowed: true, admin: true, visible: () => true };
    }
    const mine = new Set(
      routes
        .filter((r) => r.source.flow !== null && viewer.flows.includes(r.source.flow))
        .map((r) => r.source.id),
    );
    return { allowed: mine.size > 0, admin: false, visible: (id) => mine.has(id) };
  }

  private forbidden(
    reply: FastifyReply,
    viewer: DeliveriesViewer,
    repository: string,
    routes: RouteView[],
  ) {
    const unknownFlow = routes.some((r) => r.source.flow === null);
    const why =
      routes.length === 0
        ? `${repository} posts to no flow, so only the bridge's admins may see its log.`
        : `Its log is shown to members of the Flowdock flows ${repository} posts to, and you are a member of none of them (as of your sign-in).` +
          (unknownFlow
            ? ' One of its sources was added with a bare flow token, so the bridge does not know its flow: only admins may see that one.'
            : '');
    return sendMessagePage(reply, {
      status: 403,
      title: `You may not see the delivery log of ${repository}`,
      message: `You are signed in with Flowdock as ${viewer.name} (@${viewer.nick}, Flowdock user ${viewer.flowdockUserId}). ${why}`,
      next:
        'Access comes from membership of a flow the repository posts to, or from being listed in ADMIN_FLOWDOCK_USERS (ask the bridge’s operator). ' +
        'Your sign-in lasts 15 minutes: after joining a flow, open the page again once it has ended.',
    });
  }
}
