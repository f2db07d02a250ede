import {
  BadRequestException,
  Injectable,
  Logger,
  NotFoundException,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app.config';
import { TokenCipher } from '../crypto/token-cipher';
import { FlowdockSourceEntity } from './flowdock-source.entity';

/** A source as other modules see it: never the flow token. */
export interface FlowdockSourceRecord {
  id: string;
  flow: string | null;
  name: string | null;
  disabledAt: Date | null;
  disabledReason: string | null;
  /** Whether replies in its threads can be heard: no token, a token, or a token the stream refused. */
  stream: { state: 'none' } | { state: 'token' } | { state: 'refused'; at: Date; reason: string };
}

/** An OAuth grant that reads a flow's stream (what the setup's consent gave, or a token alone). */
export interface StreamGrant {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: Date;
}

/** A source whose token can read its flow's stream. */
export interface StreamSource {
  sourceId: string;
  flow: string;
}

const hashToken = (flowToken: string) => createHash('sha256').update(flowToken).digest('hex');
/** What a source's flow token ciphertext is bound to (its row). */
export const tokenContext = (id: string) => `flowdock_source:${id}`;
/** What a source's stream token ciphertexts are bound to (its row, and which token). */
export const streamContext = (id: string, kind: 'access' | 'refresh') =>
  `flowdock_source:${id}:stream-${kind}`;

function toRecord(row: FlowdockSourceEntity): FlowdockSourceRecord {
  return {
    id: row.id,
    flow: row.flow,
    name: row.name,
    disabledAt: row.disabledAt,
    disabledReason: row.disabledReason,
    stream: row.streamRefusedAt
      ? { state: 'refused', at: row.streamRefusedAt, reason: row.streamRefusedReason ?? '' }
      : row.streamTokenEncrypted
        ? { state: 'token' }
        : { state: 'none' },
  };
}

/**
 * The flows the bridge may post to. A source is registered by its flow token
 * (stored encrypted, found by its hash), once per token. FLOWDOCK_FLOW_TOKEN,
 * when set, is registered at start as the default source; this service alone
 * registers it and keeps its id.
 */
@Injectable()
export class FlowdockSourceService implements OnApplicationBootstrap {
  private readonly logger = new Logger('FlowdockSources');
  private readonly defaultFlowToken: string | undefined;
  private readonly defaultStream: { flow: string | undefined; token: string | undefined };
  private defaultId: Promise<string> | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: TokenCipher,
    config: ConfigService<AppConfig, true>,
  ) {
    const flowdock = config.get('flowdock', { infer: true });
    this.defaultFlowToken = flowdock.flowToken;
    this.defaultStream = { flow: flowdock.stream.flow, token: flowdock.stream.token };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.defaultSourceId();
  }

  /**
   * The source of FLOWDOCK_FLOW_TOKEN, for repositories without a
   * subscription (registered once, on first use); undefined when unset.
   */
  defaultSourceId(): Promise<string | undefined> {
    if (!this.defaultFlowToken) return Promise.resolve(undefined);
    this.defaultId ??= this.register({
      flowToken: this.defaultFlowToken,
      name: 'FLOWDOCK_FLOW_TOKEN',
    }).then((source) => {
      if (source.disabledAt) {
        this.logger.warn(
          `The default source (FLOWDOCK_FLOW_TOKEN) is disabled: ${source.disabledReason}`,
        );
      }
      return source.id;
    });
    this.defaultId.catch(() => (this.defaultId = undefined));
    return this.defaultId;
  }

  /**
   * FLOWDOCK_FLOW and FLOWDOCK_STREAM_TOKEN, when both are set: the default
   * source's flow and the token that reads it, for listening to replies.
   */
  async configureDefaultStream(): Promise<void> {
    const { flow, token } = this.defaultStream;
    if (!flow || !token) return;
    const sourceId = await this.defaultSourceId();
    if (!sourceId) return;
    const current = await this.streamGrant(sourceId).catch(() => undefined);
    const source = await this.get(sourceId);
    // Replaced only when it changed: a refusal of this same token stays recorded.
    if (current?.accessToken === token && source?.flow === flow) return;
    await this.setStreamGrant(sourceId, { accessToken: token }, { flow });
  }

  /**
   * Registers a flow token (idempotent: the same token gives the same source,
   * whose flow and name are then kept). Runs in `manager`'s transaction when given.
   */
  async register(
    input: { flowToken: string; flow?: string; name?: string },
    manager: EntityManager = this.dataSource.manager,
  ): Promise<FlowdockSourceRecord> {
    const flowToken = input.flowToken.trim();
    if (flowToken === '')
      throw new BadRequestException('A flow token is required to register a Flowdock source');
    const hash = hashToken(flowToken);
    const id = randomUUID();
    await manager.query(
      `INSERT INTO flowdock_source (id, flow_token_encrypted, flow_token_hash, flow, name)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (flow_token_hash) DO NOTHING`,
      [
        id,
        this.cipher.encrypt(flowToken, tokenContext(id)),
        hash,
        input.flow ?? null,
        input.name ?? null,
      ],
    );
    const row = await manager.findOneByOrFail(FlowdockSourceEntity, { flowTokenHash: hash });
    return toRecord(row);
  }

  async get(
    id: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<FlowdockSourceRecord | undefined> {
    const row = await manager.findOneBy(FlowdockSourceEntity, { id });
    return row ? toRecord(row) : undefined;
  }

  /** The flow token, decrypted; for the delivery worker only. */
  async flowToken(id: string, manager: EntityManager = this.dataSource.manager): Promise<string> {
    const row = await manager.findOneBy(FlowdockSourceEntity, { id });
    if (!row) throw new NotFoundException(`Flowdock source ${id} does not exist`);
    return this.cipher.decrypt(row.flowTokenEncrypted, tokenContext(row.id));
  }

  /** Every source, oldest first, for operators (never a flow token). */
  async list(): Promise<FlowdockSourceRecord[]> {
    const rows = await this.dataSource.manager.find(FlowdockSourceEntity, {
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    return rows.map(toRecord);
  }

  /**
   * Posts to a disabled source again (its flow works again in Flowdock); false
   * when it was not disabled. Its dead letters stay dead until re-driven.
   */
  async enable(id: string): Promise<boolean> {
    const [rows]: [{ id: string }[], number] = await this.dataSource.query(
      `UPDATE flowdock_source SET disabled_at = NULL, disabled_reason = NULL, updated_at = now()
       WHERE id = $1 AND disabled_at IS NOT NULL RETURNING id`,
      [id],
    );
    if (rows.length > 0) return true;
    if (!(await this.get(id))) throw new NotFoundException(`Flowdock source ${id} does not exist`);
    return false;
  }

  /**
   * Stores the grant that reads the source's flow through the streaming API
   * (encrypted, bound to the row), and the flow when given; a stream refusal
   * recorded for the previous token is cleared. In `manager`'s transaction when given.
   */
  async setStreamGrant(
    id: string,
    grant: StreamGrant,
    options: { flow?: string } = {},
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    const accessToken = grant.accessToken.trim();
    if (accessToken === '') throw new BadRequestException('The stream token is empty');
    const [, count]: [unknown, number] = await manager.query(
      `UPDATE flowdock_source
       SET stream_token_encrypted = $2, stream_refresh_token_encrypted = $3, stream_token_expires_at = $4,
           stream_refused_at = NULL, stream_refused_reason = NULL, flow = coalesce($5, flow), updated_at = now()
       WHERE id = $1`,
      [
        id,
        this.cipher.encrypt(accessToken, streamContext(id, 'access')),
        grant.refreshToken
          ? this.cipher.encrypt(grant.refreshToken, streamContext(id, 'refresh'))
          : null,
        grant.expiresAt ?? null,
        options.flow ?? null,
      ],
    );
    if (count === 0) throw new NotFoundException(`Flowdock source ${id} does not exist`);
  }

  /**
   * Per flow, the source whose stream token to listen with (the newest usable
   * one): sources that know their flow, are not disabled, and have a token
   * the stream has not refused.
   */
  async streamSources(): Promise<StreamSource[]> {
    const rows: { id: string; flow: string }[] = await this.dataSource.query(
      `SELECT DISTINCT ON (flow) id, flow FROM flowdock_source
       WHERE flow IS NOT NULL AND stream_token_encrypted IS NOT NULL
         AND stream_refused_at IS NULL AND disabled_at IS NULL
       ORDER BY flow, updated_at DESC, id`,
    );
    return rows.map((r) => ({ sourceId: r.id, flow: r.flow }));
  }

  /** The stream grant, decrypted, with its ciphertext (to replace it only if unchanged); undefined without one. */
  async streamGrant(
    id: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<(StreamGrant & { ciphertext: string }) | undefined> {
    const row = await manager.findOneBy(FlowdockSourceEntity, { id });
    if (!row?.streamTokenEncrypted) return undefined;
    return {
      ciphertext: row.streamTokenEncrypted,
      accessToken: this.cipher.decrypt(row.streamTokenEncrypted, streamContext(id, 'access')),
      ...(row.streamRefreshTokenEncrypted
        ? {
            refreshToken: this.cipher.decrypt(
              row.streamRefreshTokenEncrypted,
              streamContext(id, 'refresh'),
            ),
          }
        : {}),
      ...(row.streamTokenExpiresAt ? { expiresAt: row.streamTokenExpiresAt } : {}),
    };
  }

  /**
   * Refreshes a stream grant once across replicas: under the row's lock,
   * `refresh` runs only if the token is still the one seen (`seenCiphertext`);
   * otherwise the newer grant is returned.
   */
  async refreshStreamGrant(
    id: string,
    seenCiphertext: string,
    refresh: (refreshToken: string) => Promise<StreamGrant>,
  ): Promise<StreamGrant | undefined> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT 1 FROM flowdock_source WHERE id = $1 FOR UPDATE`, [id]);
      const current = await this.streamGrant(id, manager);
      if (!current) return undefined;
      if (current.ciphertext !== seenCiphertext) return current;
      if (!current.refreshToken) return undefined;
      const fresh = await refresh(current.refreshToken);
      await this.setStreamGrant(
        id,
        { ...fresh, refreshToken: fresh.refreshToken ?? current.refreshToken },
        {},
        manager,
      );
      return fresh;
    });
  }

  /**
   * The stream refused the source's token (401/403): it is not used again
   * until replaced; true when this call recorded it (the first to see it).
   */
  async refuseStream(id: string, seenCiphertext: string, reason: string): Promise<boolean> {
    const [, count]: [unknown, number] = await this.dataSource.query(
      `UPDATE flowdock_source SET stream_refused_at = now(), stream_refused_reason = $3, updated_at = now()
       WHERE id = $1 AND stream_token_encrypted = $2 AND stream_refused_at IS NULL`,
      [id, seenCiphertext, reason],
    );
    return count > 0;
  }

  /** Stops posting to a source (Flowdock said 410 Gone); keeps the first reason. */
  async disable(
    id: string,
    reason: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.query(
      `UPDATE flowdock_source SET disabled_at = now(), disabled_reason = $2, updated_at = now()
       WHERE id = $1 AND disabled_at IS NULL`,
      [id, reason],
    );
  }
}
