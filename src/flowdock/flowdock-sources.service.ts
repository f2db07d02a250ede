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
}

const hashToken = (flowToken: string) => createHash('sha256').update(flowToken).digest('hex');
/** What a source's flow token ciphertext is bound to (its row). */
export const tokenContext = (id: string) => `flowdock_source:${id}`;

function toRecord(row: FlowdockSourceEntity): FlowdockSourceRecord {
  return {
    id: row.id,
    flow: row.flow,
    name: row.name,
    disabledAt: row.disabledAt,
    disabledReason: row.disabledReason,
  };
}

/**
 * The flows the bridge may post to. A source is registered by its flow token
 * (stored encrypted, found by its hash), once per token. FLOWDOCK_FLOW_TOKEN,
 * when set, is registered at start as the default source.
 */
@Injectable()
export class FlowdockSourceService implements OnApplicationBootstrap {
  private readonly logger = new Logger('FlowdockSources');
  private readonly defaultFlowToken: string | undefined;
  private defaultId: Promise<string> | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cipher: TokenCipher,
    config: ConfigService<AppConfig, true>,
  ) {
    this.defaultFlowToken = config.get('flowdock', { infer: true }).flowToken;
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
