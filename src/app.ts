/**
 * Builds the application from a frozen config and its dependencies: plugins and capability
 * modules, nothing else. No listening, no signals (see main.ts), no globals: a test can build as
 * many apps as it likes, on PGlite or PostgreSQL, with or without Redis.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import pino, { type DestinationStream } from 'pino';
import { type Authenticator, installAccessPolicy } from './access/policy.js';
import type { Config } from './config.js';
import { type Clock, systemClock } from './platform/clock.js';
import type { Db } from './platform/db/database.js';
import { installErrorHandling, platformError } from './platform/errors.js';
import { healthRoutes } from './platform/health.routes.js';
import { installHttpHardening } from './platform/http-hardening.js';
import { loggerOptions } from './platform/logger.js';
import { registerOpenApi } from './platform/openapi.js';
import { installSecurityHeaders } from './platform/security-headers.js';
import type { SharedState } from './platform/state/shared-state.js';

export const BODY_LIMIT = 1024 * 1024;

export interface AppDeps {
  readonly db: Db;
  readonly state: SharedState;
  readonly clock?: Clock;
  /** Where log lines go (tests capture them); stdout when unset. */
  readonly logStream?: DestinationStream;
}

export type App = FastifyInstance;

/** Creates the Fastify instance with every global plugin and every capability module. */
export async function buildApp(config: Config, deps: AppDeps): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const logger = pino(loggerOptions(config.logLevel), deps.logStream ?? pino.destination(1));
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
    https: config.tls ? { cert: config.tls.cert, key: config.tls.key } : null,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
  }) as unknown as FastifyInstance;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  installSecurityHeaders(app);
  await installHttpHardening(app, config);

  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        req: request,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed',
    );
    done();
  });

  const authenticate: Authenticator = async () => {
    throw platformError('unauthorized');
  };
  installAccessPolicy(app, authenticate);
  await registerOpenApi(app, config.publicUrl);

  const routes = app.withTypeProvider<ZodTypeProvider>();
  await routes.register(healthRoutes(deps.db, deps.state));
  void clock;

  return app;
}
