import { resolve } from 'node:path';
import { loadDotEnv } from './dot-env';
import { parseEnvironment } from './environment';
import {
  CLIENT_ID_VARIABLES,
  loadDevelopmentSecrets,
  OPTIONAL_SECRET_VARIABLES,
  SECRET_VARIABLES,
  SecretName,
  Secrets,
  secretWeakness,
} from './secrets';

/** The bridge's configuration, typed and validated. Read it through ConfigService<AppConfig, true>. */
export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** External base URL without a trailing slash. */
  publicUrl: string;
  /** PostgreSQL server; undefined means the embedded database in dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  bodyLimit: number;
  /** Largest webhook body: GitHub caps payloads at 25 MB, and refusing one loses the event. */
  webhookBodyLimit: number;
  /** Requests a minute per client address on the browser pages of sign-in, linking and setup; 0: none. */
  authRateLimit: number;
  /** Fastify's trustProxy: which proxies' X-Forwarded-For names the client (undefined: none). */
  trustProxy: number | string[] | undefined;
  logLevel: string;
  cookieSecret: string;
  tokenEncryptionKey: string;
  /** Previous TOKEN_ENCRYPTION_KEY values, still accepted for decryption during rotation. */
  tokenDecryptionKeys: string[];
  /** Bearer token GET /metrics requires; undefined: the endpoint is open. */
  metricsToken: string | undefined;
  /**
   * Secrets and client ids that were not set and got generated development
   * values (never in production). Generated client ids are known to no
   * Flowdock or GitHub: sign-ins with them cannot work.
   */
  generated: SecretName[];
  flowdock: {
    apiUrl: string;
    clientId: string;
    clientSecret: string;
    flowToken: string | undefined;
    /** Timeout of every call to Flowdock. */
    timeoutMs: number;
    /** Flowdock user ids who may see every repository's delivery log (ADMIN_FLOWDOCK_USERS). */
    adminUsers: string[];
    /** Replies in the bridge's threads, heard through Flowdock's streaming API. */
    stream: {
      /** FLOWDOCK_STREAM_URL, without a trailing slash. */
      url: string;
      /** FLOWDOCK_FLOW: the default source's flow ("organization/flow"). */
      flow: string | undefined;
      /** FLOWDOCK_STREAM_TOKEN: reads FLOWDOCK_FLOW; never logged. */
      token: string | undefined;
      /** How often flows to listen to are looked for and leases renewed; 0: no listening (the default under NODE_ENV=test). */
      checkMs: number;
    };
    delivery: {
      /** How often the delivery worker looks for due messages; 0 turns the worker off (the default under NODE_ENV=test). */
      pollIntervalMs: number;
      /** First retry delay after a transient failure; doubles per attempt up to retryMaxMs. */
      retryBaseMs: number;
      retryMaxMs: number;
      /** Attempts before a transiently failing message is dead-lettered. */
      maxAttempts: number;
    };
  };
  github: {
    url: string;
    apiUrl: string;
    clientId: string;
    clientSecret: string;
    webhookSecret: string;
    /** Accepted besides webhookSecret during a rotation. */
    webhookSecretPrevious: string | undefined;
    /** How long a call to GitHub may take before the bridge gives up on it. */
    timeoutMs: number;
    /** How long processed deliveries stay in the delivery log. */
    deliveryRetentionDays: number;
    /**
     * GITHUB_ADMIN_TOKEN: reads a hook's deliveries and asks for redeliveries
     * (`npm run cli -- webhooks redeliver`); the server never uses it.
     */
    adminToken: string | undefined;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

interface LoadedConfig {
  config: AppConfig;
  /** Things an operator should know, e.g. which secrets were generated. */
  warnings: string[];
  /** The .env file that completed the environment, if one was read. */
  envFile?: string;
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** TRUST_PROXY: a number of hops, or a comma-separated list of addresses and CIDR ranges. */
function trustProxy(value: string | undefined): number | string[] | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value);
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

/** Domains reserved for documentation (RFC 2606), like the example in .env.example. */
const EXAMPLE_HOST = /(^|\.)example\.(com|org|net)$/i;

/** Groups of variables holding the same value. */
function sameValues(
  values: Record<string, string | undefined>,
  names: readonly string[],
): string[][] {
  const byValue = new Map<string, string[]>();
  for (const name of names) {
    const value = values[name];
    if (value) byValue.set(value, [...(byValue.get(value) ?? []), name]);
  }
  return [...byValue.values()].filter((group) => group.length > 1);
}

/**
 * Reads, validates and completes the configuration: `raw`, or else the
 * process's environment completed from `.env` in the working directory (set
 * variables win). In production a missing or weak secret, two secrets with
 * one value, or a PUBLIC_URL that is an example or not https is an error;
 * elsewhere missing secrets are generated once into DATA_DIR. Throws
 * ConfigError naming every offending variable.
 */
export function loadConfig(raw?: Record<string, string | undefined>): LoadedConfig {
  let envFile: string | undefined;
  if (raw === undefined) {
    try {
      envFile = loadDotEnv(process.env);
    } catch (error) {
      throw new ConfigError([(error as Error).message]);
    }
    raw = process.env;
  }
  const { env, problems } = parseEnvironment(raw);
  const warnings: string[] = [];
  const nodeEnv = env.NODE_ENV ?? 'development';
  const production = nodeEnv === 'production';
  const port = env.PORT ?? 3000;
  const dataDir = resolve(env.DATA_DIR ?? './data');

  if (production && !env.PUBLIC_URL) {
    problems.push('PUBLIC_URL: required in production (action, OAuth and challenge URLs use it)');
  } else if (production && env.PUBLIC_URL) {
    const url = new URL(env.PUBLIC_URL);
    if (EXAMPLE_HOST.test(url.hostname)) {
      problems.push(
        `PUBLIC_URL: ${url.hostname} is an example domain; set the URL Flowdock and GitHub reach this bridge at`,
      );
    }
    if (url.protocol !== 'https:' && raw.ALLOW_HTTP_PUBLIC_URL !== '1') {
      problems.push(
        'PUBLIC_URL: must be https in production (cookies, claims and OAuth codes travel over it); ' +
          'behind a proxy that terminates TLS elsewhere, set ALLOW_HTTP_PUBLIC_URL=1',
      );
    }
  }

  const given: Partial<Secrets> = {};
  const missing: SecretName[] = [];
  for (const name of [...SECRET_VARIABLES, ...CLIENT_ID_VARIABLES]) {
    const value = env[name];
    const isSecret = (SECRET_VARIABLES as readonly string[]).includes(name);
    const weakness = isSecret ? secretWeakness(value) : value ? undefined : 'missing';
    if (weakness === 'missing') {
      if (production) problems.push(`${name}: required in production`);
      else missing.push(name);
    } else if (weakness) {
      if (production) problems.push(`${name}: too weak (${weakness})`);
      else warnings.push(`${name} is weak (${weakness}); production would refuse it`);
      given[name] = value;
    } else {
      given[name] = value;
    }
  }
  const optional: Record<string, string | undefined> = {};
  for (const name of OPTIONAL_SECRET_VARIABLES) {
    const value = env[name];
    const weakness = value === undefined ? undefined : secretWeakness(value);
    if (weakness && production) problems.push(`${name}: too weak (${weakness})`);
    else if (weakness) warnings.push(`${name} is weak (${weakness}); production would refuse it`);
    optional[name] = value;
  }
  // One value in two roles: learning it for one (a leaked webhook secret) gives away the other.
  for (const names of sameValues({ ...given, ...optional }, [
    ...SECRET_VARIABLES,
    ...OPTIONAL_SECRET_VARIABLES,
  ])) {
    const problem = `${names.join(' and ')}: the same value; each needs its own`;
    if (production) problems.push(problem);
    else warnings.push(`${problem} (production would refuse it)`);
  }
  if (env.FLOWDOCK_STREAM_TOKEN && !env.FLOWDOCK_FLOW) {
    problems.push(
      'FLOWDOCK_STREAM_TOKEN: needs FLOWDOCK_FLOW, the flow ("organization/flow") it reads',
    );
  }
  if (env.FLOWDOCK_FLOW && !env.FLOWDOCK_FLOW_TOKEN) {
    problems.push(
      'FLOWDOCK_FLOW: names the flow of the default source, so it needs FLOWDOCK_FLOW_TOKEN',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  let secrets = given as Secrets;
  if (missing.length > 0) {
    const generated = loadDevelopmentSecrets(dataDir, missing);
    secrets = { ...generated.secrets, ...given } as Secrets;
    if (generated.created.length > 0) {
      warnings.push(
        `Generated development values for ${generated.created.join(', ')} in ${dataDir}; ` +
          'set them explicitly in production',
      );
    }
  }

  return {
    warnings,
    envFile,
    config: {
      nodeEnv,
      port,
      host: env.HOST ?? '0.0.0.0',
      publicUrl: trimSlash(env.PUBLIC_URL ?? `http://localhost:${port}`),
      databaseUrl: env.DATABASE_URL,
      dataDir,
      bodyLimit: env.BODY_LIMIT ?? 1024 * 1024,
      webhookBodyLimit: env.WEBHOOK_BODY_LIMIT ?? 25 * 1024 * 1024,
      authRateLimit: env.AUTH_RATE_LIMIT ?? 30,
      trustProxy: trustProxy(env.TRUST_PROXY),
      logLevel: env.LOG_LEVEL ?? 'info',
      cookieSecret: secrets.COOKIE_SECRET,
      tokenEncryptionKey: secrets.TOKEN_ENCRYPTION_KEY,
      tokenDecryptionKeys: (env.TOKEN_DECRYPTION_KEYS ?? '')
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
      metricsToken: env.METRICS_TOKEN,
      generated: missing,
      flowdock: {
        apiUrl: trimSlash(env.FLOWDOCK_API_URL ?? 'https://api.flowdock.com'),
        clientId: secrets.FLOWDOCK_CLIENT_ID,
        clientSecret: secrets.FLOWDOCK_CLIENT_SECRET,
        flowToken: env.FLOWDOCK_FLOW_TOKEN,
        timeoutMs: env.FLOWDOCK_TIMEOUT_MS ?? 10_000,
        adminUsers: (env.ADMIN_FLOWDOCK_USERS ?? '')
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
        stream: {
          url: trimSlash(env.FLOWDOCK_STREAM_URL ?? 'https://stream.flowdock.com'),
          flow: env.FLOWDOCK_FLOW,
          token: env.FLOWDOCK_STREAM_TOKEN,
          // Tests share one database: their apps listen only when asked to.
          checkMs: env.FLOWDOCK_STREAM_CHECK_MS ?? (nodeEnv === 'test' ? 0 : 5000),
        },
        delivery: {
          // Tests share one database: their apps deliver only when asked to.
          pollIntervalMs: env.FLOWDOCK_DELIVERY_POLL_MS ?? (nodeEnv === 'test' ? 0 : 1000),
          retryBaseMs: env.FLOWDOCK_RETRY_BASE_MS ?? 1000,
          retryMaxMs: env.FLOWDOCK_RETRY_MAX_MS ?? 300_000,
          maxAttempts: env.FLOWDOCK_MAX_ATTEMPTS ?? 30,
        },
      },
      github: {
        url: trimSlash(env.GITHUB_URL ?? 'https://github.com'),
        apiUrl: trimSlash(env.GITHUB_API_URL ?? 'https://api.github.com'),
        clientId: secrets.GITHUB_CLIENT_ID,
        clientSecret: secrets.GITHUB_CLIENT_SECRET,
        webhookSecret: secrets.GITHUB_WEBHOOK_SECRET,
        webhookSecretPrevious: env.GITHUB_WEBHOOK_SECRET_PREVIOUS,
        deliveryRetentionDays: env.DELIVERY_RETENTION_DAYS ?? 14,
        adminToken: env.GITHUB_ADMIN_TOKEN,
        timeoutMs: env.GITHUB_TIMEOUT_MS ?? 8_000,
      },
    },
  };
}
