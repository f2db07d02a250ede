import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  validateSync,
  ValidationError,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
const emptyToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const httpUrl = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };
const databaseUrl = {
  require_tld: false,
  require_protocol: true,
  protocols: ['postgres', 'postgresql'],
};

/**
 * The environment variables the bridge reads, as they arrive. Every variable is
 * a string or absent; this class checks their form. Secrets are checked for
 * strength separately (see secrets.ts) because the rules depend on NODE_ENV.
 */
class Environment {
  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV?: 'development' | 'production' | 'test';

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  HOST?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl(httpUrl)
  PUBLIC_URL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl(databaseUrl)
  DATABASE_URL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  DATA_DIR?: string;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1024)
  @Max(100 * 1024 * 1024)
  BODY_LIMIT?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1024)
  @Max(100 * 1024 * 1024)
  WEBHOOK_BODY_LIMIT?: number;

  /** Requests a minute per client address on the sign-in, linking, account and setup pages; 0: no limit. */
  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100_000)
  AUTH_RATE_LIMIT?: number;

  /** Proxies in front of the bridge whose X-Forwarded-For is believed: a hop count, or addresses/CIDRs. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  TRUST_PROXY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl(httpUrl)
  FLOWDOCK_API_URL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  FLOWDOCK_CLIENT_ID?: string;

  @IsOptional()
  @IsString()
  FLOWDOCK_CLIENT_SECRET?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  FLOWDOCK_FLOW_TOKEN?: string;

  /** The streaming API's base (replies in threads are heard through it). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl(httpUrl)
  FLOWDOCK_STREAM_URL?: string;

  /** The default source's flow (of FLOWDOCK_FLOW_TOKEN), "organization/flow". */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,100}\/[A-Za-z0-9_-]{1,100}$/, {
    message: 'must be a flow as "organization/flow" (the parameterized names in its URL)',
  })
  FLOWDOCK_FLOW?: string;

  /** A token that can read FLOWDOCK_FLOW through the streaming API. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  FLOWDOCK_STREAM_TOKEN?: string;

  /** How often the bridge looks for flows to listen to and renews its stream leases; 0: it does not listen. */
  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600_000)
  FLOWDOCK_STREAM_CHECK_MS?: number;

  /** Bearer token GET /metrics requires; unset, the endpoint is open. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  METRICS_TOKEN?: string;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(300_000)
  FLOWDOCK_TIMEOUT_MS?: number;

  /** Flowdock user ids (comma-separated) who may see every repository's delivery log. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^\s*\d+\s*(,\s*\d+\s*)*,?\s*$/, {
    message: 'must be Flowdock user ids (digits), comma-separated',
  })
  ADMIN_FLOWDOCK_USERS?: string;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  FLOWDOCK_DELIVERY_POLL_MS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  FLOWDOCK_RETRY_BASE_MS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(86_400_000)
  FLOWDOCK_RETRY_MAX_MS?: number;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  FLOWDOCK_MAX_ATTEMPTS?: number;

  @IsOptional()
  @IsString()
  COOKIE_SECRET?: string;

  @IsOptional()
  @IsString()
  TOKEN_ENCRYPTION_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  TOKEN_DECRYPTION_KEYS?: string;

  @IsOptional()
  @IsString()
  GITHUB_WEBHOOK_SECRET?: string;

  /** The previous webhook secret, still accepted while GitHub's setting is being rotated. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  GITHUB_WEBHOOK_SECRET_PREVIOUS?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  GITHUB_CLIENT_ID?: string;

  @IsOptional()
  @IsString()
  GITHUB_CLIENT_SECRET?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl(httpUrl)
  GITHUB_URL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl(httpUrl)
  GITHUB_API_URL?: string;

  /** A token with admin:repo_hook (admin:org_hook for organization hooks), for `webhooks redeliver` only. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  GITHUB_ADMIN_TOKEN?: string;

  /** Days the delivery log keeps a processed webhook delivery. */
  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3650)
  DELIVERY_RETENTION_DAYS?: number;

  /** How long a call to GitHub may take (an action's budget; OAuth calls too), ms. */
  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(60_000)
  GITHUB_TIMEOUT_MS?: number;
}

/** Parses the raw environment; returns one readable line per bad variable. */
export function parseEnvironment(raw: Record<string, string | undefined>): {
  env: Environment;
  problems: string[];
} {
  const env = plainToInstance(Environment, raw, { excludeExtraneousValues: false });
  const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: false });
  return { env, problems: errors.map(describe) };
}

function describe(error: ValidationError): string {
  // Name the variable and the rule, never the value: it may be a secret.
  const rules = Object.values(error.constraints ?? {}).map((text) =>
    text.replace(error.property, '').trim(),
  );
  return `${error.property}: ${rules.join('; ')}`;
}
