/**
 * Builds the application from a frozen config and its dependencies: plugins and capability
 * modules, nothing else. No listening, no signals (see start.ts), no globals: a test can build as
 * many apps as it likes, on PGlite or PostgreSQL, with or without Redis.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import pino, { type DestinationStream } from 'pino';
import { openApiGateErrors, openApiSecurity } from './access/openapi-security.js';
import { installAccessPolicy, markScopePublic } from './access/policy.js';
import { auditRoutes } from './admin/audit/audit.routes.js';
import { securityEventRoutes } from './admin/security-events.routes.js';
import { adminSupportRoutes } from './admin/users/admin-support.routes.js';
import { adminUserRoutes } from './admin/users/admin-users.routes.js';
import { webhookDeliveryRoutes } from './admin/webhook-deliveries.routes.js';
import { type AbuseDeps, accountRoutes } from './auth/accounts/accounts.routes.js';
import {
  type AccountDeps,
  composeAccountMail,
  notifySessionTheft,
  secureAccountUrl,
} from './auth/accounts/accounts.service.js';
import { emailChangeRoutes } from './auth/accounts/email-change.routes.js';
import { LoginThrottle } from './auth/accounts/login-throttle.js';
import { AccountMailWorker } from './auth/accounts/mail-outbox.js';
import { discoveryRoutes } from './auth/keys/discovery.routes.js';
import { jwksRoutes } from './auth/keys/jwks.routes.js';
import { KeyRing } from './auth/keys/keyring.js';
import { mfaRoutes } from './auth/mfa/mfa.routes.js';
import type { MfaDeps } from './auth/mfa/mfa.service.js';
import { MfaTokens } from './auth/mfa/mfa-tokens.js';
import { identityRoutes } from './auth/oauth/identities.routes.js';
import { notifyIdentityLinked } from './auth/oauth/link-notice.js';
import { type OAuthDeps, oauthRoutes } from './auth/oauth/oauth.routes.js';
import type { GithubEndpoints } from './auth/oauth/providers/github.js';
import { createSocialProviders } from './auth/oauth/providers/index.js';
import { passkeyRoutes } from './auth/passkeys/passkeys.routes.js';
import { type Argon2Params, createPasswordHasher } from './auth/passwords/hasher.js';
import { createPasswordPolicy } from './auth/passwords/policy.js';
import { revocationFeedRoutes } from './auth/revocation-feed/feed.routes.js';
import { Revocations } from './auth/sessions/revocations.js';
import { sessionRoutes } from './auth/sessions/sessions.routes.js';
import { endUserSessions, type SessionDeps } from './auth/sessions/sessions.service.js';
import { AccessTokens } from './auth/tokens/access-tokens.js';
import { bearerAuthenticator } from './auth/tokens/token-gate.js';
import type { Config } from './config.js';
import { openApiComponents } from './openapi-components.js';
import { type AuditChain, startAuditChain } from './platform/audit/audit.store.js';
import { type Clock, systemClock } from './platform/clock.js';
import { deriveKey } from './platform/crypto.js';
import type { Db } from './platform/db/database.js';
import { installErrorHandling } from './platform/errors.js';
import { createHashPool, type HashPool } from './platform/hash-pool.js';
import { healthRoutes } from './platform/health.routes.js';
import { createHttpEdge } from './platform/http-edge.js';
import { installHttpHardening } from './platform/http-hardening.js';
import {
  type LifecycleDeliveryOptions,
  LifecycleDeliveryWorker,
} from './platform/lifecycle/delivery.js';
import { logDestination, loggerOptions, pathOnly } from './platform/logger.js';
import { createMailer, type Mailer } from './platform/mail/mailer.js';
import { loadMasterKey } from './platform/master-key.js';
import { createDecodeQueue, type DecodeQueue } from './platform/media/decode-queue.js';
import { mediaOrphanTask } from './platform/media/media.retention.js';
import { mediaRoutes } from './platform/media/media.routes.js';
import { createMediaStore, importFileMedia } from './platform/media/media.store.js';
import { indexRouteMethods } from './platform/method-not-allowed.js';
import { installMonitoring } from './platform/monitoring.js';
import { registerOpenApi } from './platform/openapi.js';
import { createLimiter } from './platform/rate-limit/limiters.js';
import {
  createRateLimits,
  installGlobalRateLimit,
  perIp,
} from './platform/rate-limit/rate-limits.js';
import { serializerCompiler } from './platform/response-serializer.js';
import { startPruner } from './platform/retention/pruner.js';
import { retentionTasks } from './platform/retention/retention.tasks.js';
import { SecurityEvents } from './platform/security-events.js';
import { installSecurityHeaders } from './platform/security-headers.js';
import type { SharedState } from './platform/state/shared-state.js';
import { postRoutes } from './shop/posts/posts.routes.js';
import type { ShopDeps } from './shop/shop.deps.js';
import { shopRoutes } from './shop/shop.routes.js';
import { meRoutes } from './users/me.routes.js';
import { userRoutes } from './users/users.routes.js';
import { pageRoutes } from './web/pages.js';

export const BODY_LIMIT = 1024 * 1024;
const MAX_PARAM_LENGTH = 200;

export interface AppDeps {
  readonly db: Db;
  readonly state: SharedState;
  readonly clock?: Clock;
  /** Where log lines go (tests capture them); stdout when unset. */
  readonly logStream?: DestinationStream;
  /** Overrides the configured argon2 cost (tests use cheap parameters). */
  readonly argon2?: Argon2Params;
  /** Overrides the mailer the config names (SMTP or the dev outbox). */
  readonly mailer?: Mailer;
  /** Overrides the bounded image decode queue (tests fill it and count its decodes). */
  readonly imageDecodes?: DecodeQueue;
  /** Overrides the hash pool built from `config.hashing` (tests watch its counters). */
  readonly hashPool?: HashPool;
  /** False: no account-mail outbox worker in this instance (tests count the request's queries). */
  readonly mailOutboxWorker?: boolean;
  /**
   * False: no lifecycle-webhook delivery worker in this instance (it runs only when WEBHOOK_URL is
   * set); options tune its lease, timeout and backoff (tests).
   */
  readonly lifecycleWorker?: false | LifecycleDeliveryOptions;
  /** GitHub's endpoints for social login (tests point them at a loopback server). */
  readonly githubEndpoints?: GithubEndpoints;
}

export type App = FastifyInstance;

/** Creates the Fastify instance with every global plugin and every capability module. */
export async function buildApp(config: Config, deps: AppDeps): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const logger = pino(loggerOptions(config.logLevel), deps.logStream ?? logDestination());
  // Timeouts, connections per client, and the answers no hook reaches (issue 14).
  const edge = createHttpEdge(config, clock);
  const app = Fastify({
    loggerInstance: logger,
    // Request ids are ours: a client cannot choose the id its log lines are filed under.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // One line per request (onResponse below) instead of Fastify's two.
    logController: new LogController({
      requestIdLogLabel: 'requestId',
      disableRequestLogging: true,
    }),
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    ...edge.serverOptions,
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  }) as unknown as FastifyInstance;
  edge.capConnections(app);

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app, indexRouteMethods(app, MAX_PARAM_LENGTH));
  installSecurityHeaders(app);
  await installHttpHardening(app, config);

  app.addHook('onResponse', (request, reply, done) => {
    // Flat fields, no `req` object: pino then runs neither the req serializer nor its redactor
    // (~2 µs of every request, bench/README.md), and the fields are safe by construction: the
    // query string, which may carry a token, is cut off here.
    request.log.info(
      {
        method: request.method,
        url: pathOnly(request.url),
        ip: request.ip,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed',
    );
    done();
  });

  await app.register(cookie);
  // Multipart is parsed only in the upload routes' own scope (platform/media/upload.ts).

  // Auth: keys, tokens, revocations, hashing, mail.
  const masterKey = loadMasterKey(config, app.log);
  const verifyOverlapSeconds = config.jwt.accessTokenTtlSeconds + config.jwt.clockToleranceSeconds;
  const ring = new KeyRing({
    db: deps.db,
    state: deps.state,
    clock,
    masterKey,
    alg: config.jwt.alg,
    rotationDays: config.jwt.rotationDays,
    verifyOverlapSeconds,
    log: app.log,
  });
  const revocations = new Revocations(deps.state, deps.db, clock, verifyOverlapSeconds * 1000);
  await ring.start();
  await revocations.start();
  // The audit chain's MAC key and head (issue 14); a chain still ending in plain SHA-256 is sealed.
  const audit: AuditChain = {
    key: deriveKey(masterKey, 'audit-chain'),
    state: deps.state,
    log: app.log,
  };
  await startAuditChain(audit, deps.db, new Date(clock.now()));
  const tokens = new AccessTokens(ring, config.jwt, clock, revocations);
  const events = new SecurityEvents(deps.db);
  const pool = deps.hashPool ?? createHashPool(config.hashing);
  const hasher = await createPasswordHasher(deps.argon2 ?? config.argon2, pool);
  const policy = await createPasswordPolicy(config.password);
  const mailer =
    deps.mailer ??
    createMailer({
      appName: config.appName,
      smtpUrl: config.smtpUrl,
      from: config.mailFrom,
      outboxDir: join(config.dataDir, 'outbox'),
      log: app.log,
    });
  app.addHook('onClose', async () => {
    await Promise.allSettled([ring.stop(), revocations.stop()]);
    if (!deps.mailer) await mailer.close();
  });
  if (config.jwt.alg === 'RS256') {
    app.log.warn(
      { event: 'weak_jwt_alg' },
      'JWT_ALG=RS256 is an interoperability opt-in: ASVS 5.0 disallows RSASSA-PKCS1-v1_5',
    );
  }

  const authenticate = bearerAuthenticator(tokens);
  // Order matters: the global limit's hook is added after the gate's, so it runs first.
  installAccessPolicy(app, authenticate);
  const stateKeyKey = deriveKey(masterKey, 'state-keys');
  const limits = createRateLimits(config, deps.state, app.log, stateKeyKey);
  installGlobalRateLimit(app, limits);
  edge.countWith(limits.global);
  // --- monitoring (issue 5): load shedding, GET /metrics, alert webhook, 401/403 bursts ---
  await installMonitoring(app, { config, state: deps.state, pool, events, revocations });
  // --- end monitoring ---
  await registerOpenApi(app, config.publicUrl, markScopePublic, {
    securityOf: openApiSecurity,
    gateErrorsOf: openApiGateErrors,
    components: openApiComponents(),
  });

  const sessionDeps: SessionDeps = {
    db: deps.db,
    state: deps.state,
    clock,
    config,
    tokens,
    revocations,
    csrfKey: deriveKey(masterKey, 'csrf'),
    events,
    audit,
  };
  const accountDeps: AccountDeps = {
    db: deps.db,
    state: deps.state,
    clock,
    config,
    hasher,
    policy,
    mailer,
    audit,
  };

  // Forgot-password and registration mails leave through the outbox (issue 14, item 4).
  if (deps.mailOutboxWorker !== false) {
    const outbox = new AccountMailWorker(
      { db: deps.db, clock, mailer, compose: composeAccountMail(accountDeps) },
      app.log,
    );
    app.addHook('onReady', async () => outbox.start());
    app.addHook('preClose', async () => outbox.stop());
  }
  // Lifecycle events leave their outbox for WEBHOOK_URL (issue 19).
  if (config.lifecycleWebhook && deps.lifecycleWorker !== false) {
    const delivery = new LifecycleDeliveryWorker(
      deps.db,
      config.lifecycleWebhook,
      app.log,
      deps.lifecycleWorker,
    );
    app.addHook('onReady', async () => delivery.start());
    app.addHook('preClose', async () => delivery.stop());
  }

  events.onEvent((event) => {
    if (event.type !== 'refresh_token_reused' || !event.userId) return;
    notifySessionTheft(accountDeps, app.log, event.userId).catch((err: unknown) =>
      app.log.error({ err }, 'theft notice failed'),
    );
  });

  const routes = app.withTypeProvider<ZodTypeProvider>();
  await routes.register(healthRoutes(deps.db, deps.state));
  await routes.register(jwksRoutes(ring));
  // Integrators (issue 18): discovery and the revocation feed for relying services.
  await routes.register(discoveryRoutes(config, ring));
  await routes.register(
    revocationFeedRoutes({
      db: deps.db,
      state: deps.state,
      clock,
      serviceTokens: config.serviceTokens,
      windowMs: verifyOverlapSeconds * 1000,
    }),
  );
  const abuseDeps: AbuseDeps = {
    limits,
    throttle: new LoginThrottle(limits, config, events),
    deviceKey: deriveKey(masterKey, 'device-cookie'),
    stateKeyKey,
  };
  const mfaDeps: MfaDeps = {
    db: deps.db,
    clock,
    mailer,
    audit,
    issuer: config.appName,
    totpKey: deriveKey(masterKey, 'totp-secrets'),
    recoveryKey: deriveKey(masterKey, 'recovery-codes'),
    codeLimiter: limits.mfaCodes,
    secureAccountUrl: (userId) => secureAccountUrl(accountDeps, userId),
  };
  const mfaTokens = new MfaTokens(
    ring,
    config.jwt,
    clock,
    deps.state,
    deriveKey(masterKey, 'mfa-challenge'),
  );
  await routes.register(
    accountRoutes(accountDeps, sessionDeps, abuseDeps, { tokens: mfaTokens, deps: mfaDeps }),
  );
  await routes.register(
    emailChangeRoutes({ accounts: accountDeps, sessions: sessionDeps, abuse: abuseDeps }),
  );
  await routes.register(mfaRoutes(mfaDeps, (userId) => endUserSessions(sessionDeps, userId)));
  // --- social login (issue 16) ---
  const oauthDeps: OAuthDeps = {
    config,
    db: deps.db,
    state: deps.state,
    clock,
    providers: createSocialProviders(config, clock, deps.githubEndpoints),
    flowKey: deriveKey(masterKey, 'oauth-flow'),
    limiter: createLimiter(
      deps.state,
      { name: 'oauth', points: config.rateLimits.oauthPerMinute, durationSeconds: 60 },
      app.log,
    ),
    login: { accounts: accountDeps, sessions: sessionDeps, deviceKey: abuseDeps.deviceKey },
    mfaTokens,
    events,
    audit,
    notifyLinked: (log, userId, provider) =>
      notifyIdentityLinked(accountDeps, log, userId, provider),
  };
  await routes.register(oauthRoutes(oauthDeps));
  await routes.register(identityRoutes(oauthDeps));
  // --- end social login ---
  // Passkeys (issue 15): the login flow's throttle and finishLogin, challenges in shared state.
  await routes.register(
    passkeyRoutes({
      config,
      state: deps.state,
      login: {
        accounts: accountDeps,
        sessions: sessionDeps,
        abuse: abuseDeps,
        mfa: { tokens: mfaTokens, deps: mfaDeps },
      },
    }),
  );
  // Images live in the database, shared by every instance (issue 17); an older version's files
  // in DATA_DIR/media/ are moved in on start.
  const media = createMediaStore(deps.db);
  const imported = await importFileMedia(deps.db, config.dataDir);
  if (imported > 0) app.log.info({ event: 'media_imported', files: imported }, 'media imported');
  const imageDecodes = deps.imageDecodes ?? createDecodeQueue();
  // Hosted pages (issue 15): the same services, cookies and session as the API above.
  await routes.register(
    pageRoutes(
      {
        accounts: accountDeps,
        sessions: sessionDeps,
        abuse: abuseDeps,
        mfa: { tokens: mfaTokens, deps: mfaDeps },
      },
      deriveKey(masterKey, 'form-csrf'),
      { media, imageDecodes, uploadLimit: limits.uploads },
    ),
  );
  await routes.register(sessionRoutes(sessionDeps, authenticate, perIp(limits.refresh)));

  await routes.register(mediaRoutes(media));
  await routes.register(
    userRoutes({ db: deps.db, clock, media, imageDecodes, uploadLimit: limits.uploads }),
  );
  await routes.register(meRoutes({ sessions: sessionDeps, media, mailer }));
  await routes.register(adminUserRoutes({ sessions: sessionDeps, media }));
  await routes.register(
    adminSupportRoutes({ sessions: sessionDeps, accounts: accountDeps, limits }),
  );
  await routes.register(auditRoutes(deps.db, audit));
  await routes.register(securityEventRoutes(deps.db));
  await routes.register(webhookDeliveryRoutes(deps.db));
  const shopDeps: ShopDeps = {
    db: deps.db,
    clock,
    config,
    media,
    imageDecodes,
    events,
    limits,
    audit,
  };
  await routes.register(shopRoutes(shopDeps));
  await routes.register(postRoutes(shopDeps));

  // Retention (issue 14): every instance prunes in small SKIP LOCKED batches; never the audit log.
  const pruner = startPruner({
    db: deps.db,
    clock,
    tasks: [
      ...retentionTasks(config.retention, { lifecycleWebhook: Boolean(config.lifecycleWebhook) }),
      mediaOrphanTask(),
    ],
    intervalMs: config.retention.intervalSeconds * 1000,
    limits: { batchSize: config.retention.batchSize, batches: config.retention.batchesPerTick },
    log: app.log,
  });
  app.addHook('onClose', () => pruner.stop());

  return app;
}
