import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Post,
  Query,
  Redirect,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { pageHtml } from '../http/html-page';
import { OAuthCallbackQuery } from '../auth/dto/oauth-callback.dto';
import { OAuthStateService } from '../auth/oauth-state.service';
import { AppConfig } from '../config/app.config';
import { HtmlPage } from '../http/html-response';
import { TokenCipher } from '../crypto/token-cipher';
import { FlowdockFlow } from '../flowdock/flowdock-api.types';
import { FlowdockClient } from '../flowdock/flowdock-client';
import { FlowdockRefusedError } from '../flowdock/flowdock-errors';
import { FlowdockSetupFilter, SetupPageException } from './flowdock-setup.filter';
import {
  alreadyConnectedPage,
  connectedPage,
  EMPTY_FORM,
  FormValues,
  formValues,
  setupFormPage,
} from './flowdock-setup.pages';
import { FlowdockSetupService, parseSetupForm } from './flowdock-setup.service';
import { SetupForm, SetupFormQuery } from './dto/setup-form.dto';
import { SetupLinkQuery } from './dto/setup-link.dto';

const CALLBACK_PATH = '/flowdock/setup/callback';
const CONNECT_PATH = '/flowdock/setup/connect';
/**
 * `flow` to read the flow (and, later, its stream of replies), `integration`
 * to create its sources, `offline_access` for a refresh token: the grant
 * keeps reading the stream after the access token expires.
 */
const SCOPE = 'flow integration offline_access';

/** The person's Flowdock grant as the form carries it (sealed): the expiry in epoch ms. */
interface SetupGrant {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: number;
}

/** The grant sealed into the form, usable only with that form's one-use state. */
const tokenContext = (state: string) =>
  `flowdock-setup-token:${createHash('sha256').update(state).digest('hex')}`;

/**
 * The integration's Setup URI: Flowdock opens `/flowdock/setup?flow=<id>` when
 * someone adds the integration to a flow. Flowdock consent -> the flow
 * confirmed -> the repositories form -> one source per repository, stored with
 * its subscription. The access token lives only in this flow: encrypted in the
 * form (bound to the form's one-use state), never in the database or a log.
 */
@Controller()
@UseFilters(FlowdockSetupFilter)
export class FlowdockSetupController {
  private readonly redirectUri: string;

  constructor(
    private readonly states: OAuthStateService,
    private readonly client: FlowdockClient,
    private readonly setup: FlowdockSetupService,
    private readonly cipher: TokenCipher,
    config: ConfigService<AppConfig, true>,
  ) {
    this.redirectUri = config.get('publicUrl', { infer: true }).replace(/\/+$/, '') + CALLBACK_PATH;
  }

  @Get('flowdock/setup')
  @Redirect()
  @Header('cache-control', 'no-store')
  async start(
    @Query() query: SetupLinkQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ url: string }> {
    const state = await this.states.begin(reply, {
      purpose: 'flowdock-setup',
      flowId: query.flow,
    });
    return {
      url: this.client.authorizationUrl({ redirectUri: this.redirectUri, state, scope: SCOPE }),
    };
  }

  @Get('flowdock/setup/callback')
  @HtmlPage({ forms: true })
  async callback(
    @Query() query: OAuthCallbackQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const step = await this.states.consume(request, reply, query.state, ['flowdock-setup']);
    if (query.error === 'access_denied') throw new SetupPageException('denied');
    if (query.error !== undefined || query.code === undefined || query.code === '') {
      throw new SetupPageException('bad-callback');
    }
    const tokens = await this.client.exchangeCode(query.code, this.redirectUri);
    const flow = await this.findFlow(tokens.accessToken, step.flowId!);
    const grant: SetupGrant = {
      accessToken: tokens.accessToken,
      ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
      ...(tokens.expiresIn ? { expiresAt: Date.now() + tokens.expiresIn * 1000 } : {}),
    };
    return this.formPage(reply, flow, grant, EMPTY_FORM, [], 200);
  }

  @Post('flowdock/setup/connect')
  @HttpCode(200)
  @HtmlPage({ forms: true })
  async connect(
    @Query() query: SetupFormQuery,
    @Body() form: SetupForm,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const step = await this.states.consume(request, reply, query.state, ['flowdock-setup-form']);
    // consume() has matched the state against this browser's cookie.
    const grant = JSON.parse(
      this.cipher.decrypt(form.token, tokenContext(query.state!)),
    ) as SetupGrant;
    // Asked again: the flow is confirmed with the token the sources are created with.
    const flow = await this.findFlow(grant.accessToken, step.flowId!);

    const { request: setupRequest, problems } = parseSetupForm(form);
    if (problems.length > 0) {
      return this.formPage(reply, flow, grant, formValues(setupRequest, form), problems, 400);
    }
    const outcome = await this.setup.connectOnce(
      {
        accessToken: grant.accessToken,
        ...(grant.refreshToken ? { refreshToken: grant.refreshToken } : {}),
        ...(grant.expiresAt ? { expiresAt: new Date(grant.expiresAt) } : {}),
      },
      flow,
      setupRequest,
    );
    return pageHtml(
      reply,
      'taken' in outcome
        ? alreadyConnectedPage(flow, outcome.taken)
        : connectedPage(flow, outcome.connected),
    );
  }

  private async findFlow(accessToken: string, flowId: string): Promise<FlowdockFlow> {
    try {
      return await this.client.findFlow(accessToken, flowId);
    } catch (error) {
      if (error instanceof FlowdockRefusedError && [403, 404].includes(error.status)) {
        throw new SetupPageException('flow-not-found');
      }
      throw error;
    }
  }

  /** The form, with a new one-use state (its CSRF token) and the token sealed to it. */
  private async formPage(
    reply: FastifyReply,
    flow: FlowdockFlow,
    grant: SetupGrant,
    values: FormValues,
    problems: string[],
    status: number,
  ) {
    const state = await this.states.begin(reply, {
      purpose: 'flowdock-setup-form',
      flowId: flow.id,
    });
    return pageHtml(
      reply,
      setupFormPage({
        flow,
        action: `${CONNECT_PATH}?state=${encodeURIComponent(state)}`,
        sealedToken: this.cipher.encrypt(JSON.stringify(grant), tokenContext(state)),
        values,
        problems,
        status,
      }),
    );
  }
}
