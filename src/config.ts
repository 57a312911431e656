/**
 * The one place that reads the environment. Everything else receives a frozen `Config`.
 * Invalid or missing settings fail at boot with every offending variable named (never a value).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

export type Env = Record<string, string | undefined>;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  MIGRATION_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).default('Bastion <no-reply@localhost>'),
  LINK_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  APP_NAME: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[^<>\r\n]+$/, 'must be plain text on one line')
    .default('Bastion'),
  KEY_ENCRYPTION_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64')
    .optional(),
  JWT_ALG: z.enum(['EdDSA', 'ES256', 'RS256']).default('EdDSA'),
  JWT_AUDIENCE: z.string().min(1).optional(),
  KEY_ROTATION_DAYS: int(1, 365).default(30),
  CORS_ORIGINS: list.pipe(z.array(z.url({ protocol: /^https?$/ }))).default([]),
  TRUST_PROXY: list.default([]),
  TLS_CERT: z.string().min(1).optional(),
  TLS_KEY: z.string().min(1).optional(),
  // Stripe's own secrets are longer; a short one is a typo or a placeholder (HOOK-01).
  STRIPE_WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  CURRENCY: z
    .string()
    .regex(/^[a-z]{3}$/, 'must be a lower-case ISO 4217 code')
    .default('usd'),
  ALERT_WEBHOOK_URL: z.url().optional(),
  ALERT_WEBHOOK_SECRET: z.string().min(16).optional(),
  WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  WEBHOOK_SECRET: z.string().min(16).optional(),
  // Comma-separated credentials of relying services (each at least 32 characters).
  SERVICE_TOKENS: list
    .pipe(z.array(z.string().min(32, 'each token must be at least 32 characters')))
    .default([]),
  METRICS_TOKEN: z.string().min(16).optional(),
  SECURITY_BURST_THRESHOLD: int(1, 1_000_000).default(20),
  SECURITY_BURST_WINDOW_SECONDS: int(1, 86400).default(60),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ARGON2_MEMORY_KIB: int(19456, 4194304).default(19456),
  ARGON2_ITERATIONS: int(2, 100).default(2),
  ARGON2_PARALLELISM: int(1, 16).default(1),
  HASH_CONCURRENCY: int(1, 256).optional(),
  HASH_QUEUE: int(0, 10000).default(32),
  HASH_PER_ACCOUNT: int(1, 64).default(1),
  PASSWORD_MIN_LENGTH: int(8, 256).default(15),
  PASSWORD_BLOCKLIST_FILE: z.string().min(1).optional(),
  SHUTDOWN_TIMEOUT_MS: int(0, 600000).default(10000),
  REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30000),
  MAX_CONNECTIONS_PER_IP: int(1, 1_000_000).default(64),
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: int(0, 600000).default(1000),
  LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: z.coerce.number().min(0).max(1).default(0.98),
  RATE_LIMIT_GLOBAL_PER_MINUTE: int(1, 10_000_000).default(600),
  RATE_LIMIT_LOGIN_IP_FAILURES: int(1, 10_000_000).default(20),
  RATE_LIMIT_LOGIN_IP_WINDOW_SECONDS: int(1, 86400).default(900),
  RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES: int(1, 1000).default(10),
  RATE_LIMIT_LOGIN_ACCOUNT_MAX_BACKOFF_SECONDS: int(1, 86400).default(900),
  RATE_LIMIT_REGISTER_PER_HOUR: int(1, 10_000_000).default(10),
  RATE_LIMIT_FORGOT_PER_HOUR: int(1, 10_000_000).default(5),
  RATE_LIMIT_FORGOT_MAILS_PER_ACCOUNT_HOUR: int(1, 1000).default(3),
  RATE_LIMIT_REGISTER_MAILS_PER_ADDRESS_HOUR: int(1, 1000).default(3),
  RATE_LIMIT_TOKEN_PER_HOUR: int(1, 10_000_000).default(20),
  RATE_LIMIT_REFRESH_PER_MINUTE: int(1, 10_000_000).default(60),
  RATE_LIMIT_UPLOADS_PER_HOUR: int(1, 10_000_000).default(30),
  RATE_LIMIT_CONTENT_PER_HOUR: int(1, 10_000_000).default(60),
  RATE_LIMIT_MFA_CODES: int(1, 1000).default(10),
  RATE_LIMIT_MFA_WINDOW_SECONDS: int(1, 86400).default(900),
  RATE_LIMIT_OAUTH_PER_MINUTE: int(1, 10_000_000).default(30),
  DEV_INSECURE_COOKIES: bool.optional(),
  RETENTION_INTERVAL_SECONDS: int(0, 86400).default(600),
  RETENTION_BATCH_SIZE: int(1, 10000).default(500),
  RETENTION_BATCHES_PER_TICK: int(1, 1000).default(4),
  RETENTION_SESSIONS_DAYS: int(1, 3650).default(30),
  RETENTION_ONE_TIME_TOKENS_DAYS: int(1, 3650).default(7),
  RETENTION_IDEMPOTENCY_HOURS: int(1, 87600).default(24),
  RETENTION_SECURITY_EVENTS_DAYS: int(1, 3650).default(90),
});

/** Every variable `loadConfig` reads by name (`.env.example` lists each; a test checks it). */
export const SETTING_NAMES: readonly string[] = Object.keys(EnvSchema.shape);

/**
 * Settings that hold secrets. Each may instead be given as `<NAME>_FILE`, the path of a file
 * holding the value (Docker and Kubernetes secrets); so may every `OAUTH_<PROVIDER>_CLIENT_SECRET`.
 * A new secret setting belongs here.
 */
export const SECRET_SETTINGS: readonly string[] = [
  'DATABASE_URL',
  'MIGRATION_DATABASE_URL',
  'REDIS_URL',
  'SMTP_URL',
  'KEY_ENCRYPTION_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'ALERT_WEBHOOK_SECRET',
  'WEBHOOK_SECRET',
  'SERVICE_TOKENS',
  'METRICS_TOKEN',
];

const isSecretSetting = (name: string) =>
  SECRET_SETTINGS.includes(name) || /^OAUTH_[A-Z0-9]+_CLIENT_SECRET$/.test(name);

/**
 * Replaces each `<SECRET>_FILE` in `env` by `<SECRET>` with the file's contents, less one
 * trailing newline. Problems name the variable, never a value or the file's contents; returns
 * the names whose value could not be had, so they are not reported again as missing.
 */
function readSecretFiles(env: Env, problems: string[]): Set<string> {
  const failed = new Set<string>();
  for (const [key, path] of Object.entries(env)) {
    const name = key.endsWith('_FILE') ? key.slice(0, -'_FILE'.length) : '';
    if (!isSecretSetting(name) || path === undefined) continue;
    delete env[key];
    if (env[name] !== undefined) {
      problems.push(`${name}: set either ${name} or ${key}, not both`);
      continue;
    }
    let value: string;
    try {
      value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch {
      problems.push(`${key}: file cannot be read`);
      failed.add(name);
      continue;
    }
    if (value === '') {
      problems.push(`${key}: file is empty`);
      failed.add(name);
      continue;
    }
    env[name] = value;
  }
  return failed;
}

export type JwtAlg = 'EdDSA' | 'ES256' | 'RS256';

export interface OAuthProviderConfig {
  /** Lower-case slug used in the path (`/auth/oauth/<name>/start`). */
  readonly name: string;
  /** The OIDC issuer; undefined for `github` (OAuth 2 with GitHub's fixed endpoints). */
  readonly issuer: string | undefined;
  readonly clientId: string;
  readonly clientSecret: string;
  /**
   * `amr` values of the ID token that count as a second factor (OAUTH_<NAME>_MFA_AMR); empty:
   * a provider login is never one, and an account with MFA takes Bastion's own second step.
   */
  readonly mfaAmr: readonly string[];
}

export interface Config {
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  /** Base of mailed links (LINK_BASE_URL, default PUBLIC_URL); may carry a path prefix. */
  readonly linkBaseUrl: string;
  /** Product name in mails, pages and the TOTP issuer label (APP_NAME). */
  readonly appName: string;
  /** Lifecycle events receiver (WEBHOOK_URL + WEBHOOK_SECRET), or undefined. */
  readonly lifecycleWebhook: { readonly url: string; readonly secret: string } | undefined;
  /** Credentials of relying services that may follow the revocation feed. */
  readonly serviceTokens: readonly string[];
  /** True when PUBLIC_URL is https: cookies get `Secure` and the `__Host-` prefix. */
  readonly secureCookies: boolean;
  readonly databaseUrl: string | undefined;
  /** The owner role's connection, used only by `bastion migrate` (MIGRATION_DATABASE_URL). */
  readonly migrationDatabaseUrl: string | undefined;
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /** 32 raw bytes, or undefined in development (the key ring then generates one into DATA_DIR). */
  readonly keyEncryptionKey: Buffer | undefined;
  readonly jwt: {
    readonly alg: JwtAlg;
    readonly issuer: string;
    /** The first of `audiences`: what this server's own side tokens (MFA) derive theirs from. */
    readonly audience: string;
    /** Every `JWT_AUDIENCE` entry (comma-separated): access tokens carry all, verifiers accept any. */
    readonly audiences: readonly string[];
    readonly accessTokenTtlSeconds: number;
    readonly clockToleranceSeconds: number;
    readonly rotationDays: number;
  };
  readonly sessions: {
    readonly absoluteSeconds: number;
    readonly idleSeconds: number;
    readonly adminAbsoluteSeconds: number;
    readonly adminIdleSeconds: number;
    readonly reuseGraceSeconds: number;
  };
  readonly corsOrigins: readonly string[];
  readonly trustProxy: readonly string[];
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly stripeWebhookSecret: string | undefined;
  readonly currency: string;
  readonly alertWebhook: { readonly url: string; readonly secret: string } | undefined;
  readonly metricsToken: string | undefined;
  /** 401/403/429 answers per client or account in a window that raise `unauthorized_burst`. */
  readonly securityBurst: { readonly threshold: number; readonly windowSeconds: number };
  readonly logLevel: string;
  readonly argon2: {
    readonly memoryCost: number;
    readonly timeCost: number;
    readonly parallelism: number;
  };
  readonly hashing: {
    readonly concurrency: number;
    readonly queue: number;
    /** Hash-pool places one account may hold in authenticated operations (password change). */
    readonly perOwner: number;
  };
  readonly password: { readonly minLength: number; readonly blocklistFile: string | undefined };
  readonly shutdownTimeoutMs: number;
  /** A request's headers and body must have arrived within this (issue 14). */
  readonly requestTimeoutMs: number;
  /** Open connections per client address (IPv6 per /64); trusted proxies are not capped. */
  readonly maxConnectionsPerIp: number;
  /** `@fastify/under-pressure` thresholds; 0 turns a check off. */
  readonly loadShedding: {
    readonly maxEventLoopDelayMs: number;
    readonly maxEventLoopUtilization: number;
  };
  readonly rateLimits: {
    readonly globalPerMinute: number;
    readonly loginIpFailures: number;
    readonly loginIpWindowSeconds: number;
    readonly loginAccountFreeFailures: number;
    readonly loginAccountMaxBackoffSeconds: number;
    readonly registerPerHour: number;
    readonly forgotPerHour: number;
    readonly forgotMailsPerAccountHour: number;
    /** Registration mails (verification or "already registered") per address, known or not. */
    readonly registerMailsPerAddressHour: number;
    readonly tokenPerHour: number;
    readonly refreshPerMinute: number;
    /** Image uploads per account (each one is a decode and re-encode). */
    readonly uploadsPerHour: number;
    /** Posts and comments per account. */
    readonly contentPerHour: number;
    /** Wrong second-factor codes per account in a window (a right code is not counted). */
    readonly mfaCodes: number;
    readonly mfaWindowSeconds: number;
    /** Social login start and callback requests per client address (issue 16). */
    readonly oauthPerMinute: number;
  };
  readonly oauthProviders: readonly OAuthProviderConfig[];
  /** Pruning of ended sessions, used tokens, old events; erasure of deleted accounts' traces. */
  readonly retention: {
    /** 0: no timer (the pruner still exists for tests and tools). */
    readonly intervalSeconds: number;
    readonly batchSize: number;
    readonly batchesPerTick: number;
    readonly sessionsDays: number;
    readonly oneTimeTokensDays: number;
    readonly idempotencyHours: number;
    readonly securityEventsDays: number;
  };
}

/** Raised at boot; its message names every bad variable and never includes a value. */
export class ConfigError extends TypeError {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function httpsOrLoopback(url: string): boolean {
  try {
    const u = new URL(url);
    return (
      u.protocol === 'https:' ||
      ['localhost', '[::1]'].includes(u.hostname) ||
      /^127(\.\d{1,3}){3}$/.test(u.hostname)
    );
  } catch {
    return false;
  }
}

function readOAuthProviders(env: Env, problems: string[]): OAuthProviderConfig[] {
  const names = new Set<string>();
  for (const key of Object.keys(env)) {
    const m = /^OAUTH_([A-Z0-9]+)_(ISSUER|CLIENT_ID|CLIENT_SECRET|MFA_AMR)$/.exec(key);
    if (m?.[1]) names.add(m[1]);
  }
  const providers: OAuthProviderConfig[] = [];
  for (const name of [...names].sort()) {
    const issuer = env[`OAUTH_${name}_ISSUER`];
    const clientId = env[`OAUTH_${name}_CLIENT_ID`];
    const clientSecret = env[`OAUTH_${name}_CLIENT_SECRET`];
    // GitHub is OAuth 2, not OIDC: two settings, no issuer (issue 16).
    const github = name === 'GITHUB';
    const missing = [
      issuer || github ? null : `OAUTH_${name}_ISSUER`,
      clientId ? null : `OAUTH_${name}_CLIENT_ID`,
      clientSecret ? null : `OAUTH_${name}_CLIENT_SECRET`,
    ].filter((v): v is string => v !== null);
    if (missing.length > 0) {
      for (const m of missing) problems.push(`${m}: required when any OAUTH_${name}_* is set`);
      continue;
    }
    if (github && issuer) {
      problems.push('OAUTH_GITHUB_ISSUER: GitHub is not OIDC; set only its client id and secret');
      continue;
    }
    const mfaAmr = (env[`OAUTH_${name}_MFA_AMR`] ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
    if (github && mfaAmr.length > 0) {
      problems.push('OAUTH_GITHUB_MFA_AMR: GitHub sends no ID token to read `amr` from');
      continue;
    }
    if (mfaAmr.some((v) => !/^[A-Za-z0-9_.:-]{1,64}$/.test(v))) {
      problems.push(`OAUTH_${name}_MFA_AMR: a comma-separated list of amr values (RFC 8176)`);
      continue;
    }
    if (!github && !/^https?:\/\//.test(issuer ?? '')) {
      problems.push(`OAUTH_${name}_ISSUER: must be an http(s) URL`);
      continue;
    }
    // Plain HTTP only outside production or on loopback (DESIGN.md).
    if (!github && env.NODE_ENV === 'production' && !httpsOrLoopback(issuer as string)) {
      problems.push(`OAUTH_${name}_ISSUER: must be https in production (or a loopback address)`);
      continue;
    }
    providers.push({
      name: name.toLowerCase(),
      issuer: github ? undefined : issuer,
      clientId: clientId as string,
      clientSecret: clientSecret as string,
      mfaAmr,
    });
  }
  return providers;
}

function readTls(path: string | undefined, name: string, problems: string[]): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch {
    problems.push(`${name}: file cannot be read`);
    return undefined;
  }
}

/**
 * What production requires, read from the raw (cleaned) environment so it can be reported even
 * when other variables are invalid; variables already reported as invalid are not repeated.
 */
function productionProblems(env: Env, invalid: ReadonlySet<string>): string[] {
  const present = (name: string) => env[name] !== undefined || invalid.has(name);
  const problems: string[] = [];
  const proxies = (env.TRUST_PROXY ?? '').split(',').some((s) => s.trim() !== '');
  if (!(present('TLS_CERT') && present('TLS_KEY')) && !proxies && !invalid.has('TRUST_PROXY'))
    problems.push('TLS_CERT/TLS_KEY or TRUST_PROXY: production requires HTTPS');
  if (!present('KEY_ENCRYPTION_KEY')) problems.push('KEY_ENCRYPTION_KEY: required in production');
  if (!present('SMTP_URL')) problems.push('SMTP_URL: required in production');
  if (!invalid.has('PUBLIC_URL') && !env.PUBLIC_URL?.startsWith('https://'))
    problems.push('PUBLIC_URL: must be an https:// URL in production');
  if (env.DEV_INSECURE_COOKIES === 'true' || env.DEV_INSECURE_COOKIES === '1')
    problems.push('DEV_INSECURE_COOKIES: not allowed in production');
  return problems;
}

/** Validates the environment and returns a frozen config, or throws `ConfigError`. */
export function loadConfig(env: Env = process.env): Config {
  // Empty strings count as unset, as in most deployment tools.
  const cleaned: Env = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;
  const problems: string[] = [];
  const unreadable = readSecretFiles(cleaned, problems);

  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const invalid = new Set<string>(unreadable);
    for (const issue of parsed.error.issues) {
      // Zod messages here describe the rule, never echo the value.
      problems.push(`${issue.path.join('.')}: ${issue.message}`);
      invalid.add(String(issue.path[0]));
    }
    // One run names everything to fix: what production is missing, as well as what is invalid.
    if (cleaned.NODE_ENV === 'production') problems.push(...productionProblems(cleaned, invalid));
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const publicUrl = (e.PUBLIC_URL ?? `http://${e.HOST}:${e.PORT}`).replace(/\/+$/, '');
  const cert = readTls(e.TLS_CERT, 'TLS_CERT', problems);
  const key = readTls(e.TLS_KEY, 'TLS_KEY', problems);
  if (Boolean(e.TLS_CERT) !== Boolean(e.TLS_KEY))
    problems.push(`${e.TLS_CERT ? 'TLS_KEY' : 'TLS_CERT'}: required together with the other`);
  if (Boolean(e.WEBHOOK_URL) !== Boolean(e.WEBHOOK_SECRET))
    problems.push(
      `${e.WEBHOOK_URL ? 'WEBHOOK_SECRET' : 'WEBHOOK_URL'}: required together with the other`,
    );
  if (Boolean(e.ALERT_WEBHOOK_URL) !== Boolean(e.ALERT_WEBHOOK_SECRET))
    problems.push(
      `${e.ALERT_WEBHOOK_URL ? 'ALERT_WEBHOOK_SECRET' : 'ALERT_WEBHOOK_URL'}: required together with the other`,
    );
  if (e.MIGRATION_DATABASE_URL && !e.DATABASE_URL)
    problems.push('MIGRATION_DATABASE_URL: requires DATABASE_URL (the app role it grants to)');
  const oauthProviders = readOAuthProviders(cleaned, problems);

  if (e.NODE_ENV === 'production') problems.push(...productionProblems(cleaned, unreadable));
  if (problems.length > 0) throw new ConfigError(problems);

  const listed = (e.JWT_AUDIENCE ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const audiences = listed.length > 0 ? listed : [publicUrl];
  const secureCookies = publicUrl.startsWith('https://') && !e.DEV_INSECURE_COOKIES;
  const config: Config = {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    linkBaseUrl: (e.LINK_BASE_URL ?? publicUrl).replace(/\/+$/, ''),
    appName: e.APP_NAME,
    lifecycleWebhook:
      e.WEBHOOK_URL && e.WEBHOOK_SECRET
        ? { url: e.WEBHOOK_URL, secret: e.WEBHOOK_SECRET }
        : undefined,
    serviceTokens: e.SERVICE_TOKENS,
    secureCookies,
    databaseUrl: e.DATABASE_URL,
    migrationDatabaseUrl: e.MIGRATION_DATABASE_URL,
    dataDir: resolve(e.DATA_DIR),
    redisUrl: e.REDIS_URL,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    keyEncryptionKey: e.KEY_ENCRYPTION_KEY
      ? Buffer.from(e.KEY_ENCRYPTION_KEY, 'base64')
      : undefined,
    jwt: {
      alg: e.JWT_ALG,
      issuer: publicUrl,
      audience: audiences[0] ?? publicUrl,
      audiences,
      accessTokenTtlSeconds: 900,
      clockToleranceSeconds: 30,
      rotationDays: e.KEY_ROTATION_DAYS,
    },
    sessions: {
      absoluteSeconds: 30 * 86400,
      idleSeconds: 7 * 86400,
      adminAbsoluteSeconds: 86400,
      adminIdleSeconds: 3600,
      reuseGraceSeconds: 10,
    },
    // Origins as browsers send them (`https://app.example`): a trailing slash or path is dropped.
    corsOrigins: e.CORS_ORIGINS.map((o) => new URL(o).origin),
    trustProxy: e.TRUST_PROXY,
    tls: cert && key ? { cert, key } : undefined,
    stripeWebhookSecret: e.STRIPE_WEBHOOK_SECRET,
    currency: e.CURRENCY,
    alertWebhook:
      e.ALERT_WEBHOOK_URL && e.ALERT_WEBHOOK_SECRET
        ? { url: e.ALERT_WEBHOOK_URL, secret: e.ALERT_WEBHOOK_SECRET }
        : undefined,
    metricsToken: e.METRICS_TOKEN,
    securityBurst: {
      threshold: e.SECURITY_BURST_THRESHOLD,
      windowSeconds: e.SECURITY_BURST_WINDOW_SECONDS,
    },
    logLevel: e.LOG_LEVEL,
    argon2: {
      memoryCost: e.ARGON2_MEMORY_KIB,
      timeCost: e.ARGON2_ITERATIONS,
      parallelism: e.ARGON2_PARALLELISM,
    },
    hashing: {
      concurrency: e.HASH_CONCURRENCY ?? cpus().length,
      queue: e.HASH_QUEUE,
      perOwner: e.HASH_PER_ACCOUNT,
    },
    password: { minLength: e.PASSWORD_MIN_LENGTH, blocklistFile: e.PASSWORD_BLOCKLIST_FILE },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    maxConnectionsPerIp: e.MAX_CONNECTIONS_PER_IP,
    loadShedding: {
      maxEventLoopDelayMs: e.LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS,
      maxEventLoopUtilization: e.LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION,
    },
    rateLimits: {
      globalPerMinute: e.RATE_LIMIT_GLOBAL_PER_MINUTE,
      loginIpFailures: e.RATE_LIMIT_LOGIN_IP_FAILURES,
      loginIpWindowSeconds: e.RATE_LIMIT_LOGIN_IP_WINDOW_SECONDS,
      loginAccountFreeFailures: e.RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES,
      loginAccountMaxBackoffSeconds: e.RATE_LIMIT_LOGIN_ACCOUNT_MAX_BACKOFF_SECONDS,
      registerPerHour: e.RATE_LIMIT_REGISTER_PER_HOUR,
      forgotPerHour: e.RATE_LIMIT_FORGOT_PER_HOUR,
      forgotMailsPerAccountHour: e.RATE_LIMIT_FORGOT_MAILS_PER_ACCOUNT_HOUR,
      registerMailsPerAddressHour: e.RATE_LIMIT_REGISTER_MAILS_PER_ADDRESS_HOUR,
      tokenPerHour: e.RATE_LIMIT_TOKEN_PER_HOUR,
      refreshPerMinute: e.RATE_LIMIT_REFRESH_PER_MINUTE,
      uploadsPerHour: e.RATE_LIMIT_UPLOADS_PER_HOUR,
      contentPerHour: e.RATE_LIMIT_CONTENT_PER_HOUR,
      mfaCodes: e.RATE_LIMIT_MFA_CODES,
      mfaWindowSeconds: e.RATE_LIMIT_MFA_WINDOW_SECONDS,
      oauthPerMinute: e.RATE_LIMIT_OAUTH_PER_MINUTE,
    },
    oauthProviders,
    retention: {
      intervalSeconds: e.RETENTION_INTERVAL_SECONDS,
      batchSize: e.RETENTION_BATCH_SIZE,
      batchesPerTick: e.RETENTION_BATCHES_PER_TICK,
      sessionsDays: e.RETENTION_SESSIONS_DAYS,
      oneTimeTokensDays: e.RETENTION_ONE_TIME_TOKENS_DAYS,
      idempotencyHours: e.RETENTION_IDEMPOTENCY_HOURS,
      securityEventsDays: e.RETENTION_SECURITY_EVENTS_DAYS,
    },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
