/**
 * Social login (DESIGN.md, "Social login settings"): `start` sends the browser to the provider
 * with PKCE, state and nonce sealed in a short-lived cookie; `callback` checks that the answer
 * belongs to this browser and has not been used, lets the provider's library validate the code
 * and ID token, resolves the account by (issuer, subject), and ends like a password login.
 * Every refusal is a 302 to `/login?error=<code>`; nothing is linked on a refusal.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../../config.js';
import { auditAccountChange } from '../../platform/audit/account-audit.js';
import type { AuditChain } from '../../platform/audit/audit.store.js';
import type { Clock } from '../../platform/clock.js';
import { randomToken, safeEqual, sha256Hex } from '../../platform/crypto.js';
import type { Db } from '../../platform/db/database.js';
import { AppError, platformError } from '../../platform/errors.js';
import { clientKey } from '../../platform/rate-limit/client-key.js';
import type { Limiter } from '../../platform/rate-limit/limiters.js';
import type { SecurityEvents } from '../../platform/security-events.js';
import type { SharedState } from '../../platform/state/shared-state.js';
import { isValidDeviceCookie } from '../accounts/device-cookie.js';
import { type FinishLoginDeps, finishLogin, startMfaChallenge } from '../accounts/finish-login.js';
import type { MfaTokens } from '../mfa/mfa-tokens.js';
import { cookieNames } from '../sessions/cookies.js';
import { liveSessionOfRefreshCookie } from '../sessions/sessions.service.js';
import { findOwnLiveSession } from '../sessions/sessions.store.js';
import {
  FLOW_TTL_SECONDS,
  flowCookieName,
  flowCookieOptions,
  openFlow,
  safeReturnTo,
  sealFlow,
} from './flow-cookie.js';
import { takeLinkGrant } from './link-grant.js';
import { REDIRECT_CODES } from './oauth.errors.js';
import { CallbackQuery, ProviderParams, StartQuery } from './oauth.schemas.js';
import { linkToAccount, resolveSignIn } from './oauth.service.js';
import type { SocialProvider } from './providers/provider.js';

export interface OAuthDeps {
  readonly config: Config;
  readonly db: Db;
  readonly state: SharedState;
  readonly clock: Clock;
  readonly providers: ReadonlyMap<string, SocialProvider>;
  /** Seals the flow cookie (derived from the master key: every instance opens it). */
  readonly flowKey: Buffer;
  /** Start and callback requests per client address. */
  readonly limiter: Limiter;
  readonly login: FinishLoginDeps;
  readonly mfaTokens: MfaTokens;
  readonly events: SecurityEvents;
  readonly audit: AuditChain;
  /** Tells the owner a sign-in method was added (the account's "this was not me" notice). */
  readonly notifyLinked: (log: FastifyBaseLogger, userId: string, provider: string) => void;
}

/** The callback URL to register at a provider. */
export function callbackUrl(publicUrl: string, provider: string): string {
  return `${publicUrl}/auth/oauth/${provider}/callback`;
}

class Refusal extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Continues to `to` with a new, same-site navigation, so the SameSite=Strict cookies ride it. */
export function continuePage(to: string): string {
  const href = escapeHtml(to);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${href}"><title>Signed in</title></head><body><p><a href="${href}">Continue</a></p></body></html>`;
}

export function oauthRoutes(deps: OAuthDeps) {
  const secure = deps.config.secureCookies;
  const flowCookie = flowCookieName(secure);
  const deviceCookie = cookieNames(secure).device;

  const providerOf = (name: string): SocialProvider => {
    const provider = deps.providers.get(name);
    if (!provider) throw platformError('not_found');
    return provider;
  };

  /** A refused sign-in: to the login page with a code, and a log line without any secret. */
  const refuse = (
    request: FastifyRequest,
    reply: FastifyReply,
    provider: string,
    err: unknown,
    page = '/login',
  ) => {
    const code =
      err instanceof Refusal || (err instanceof AppError && REDIRECT_CODES.has(err.code))
        ? (err as Refusal | AppError).code
        : 'oauth_provider_error';
    if (err instanceof Refusal || err instanceof AppError) {
      request.log.info({ event: 'oauth_refused', provider, code }, 'social sign-in refused');
    } else {
      // Protocol and validation failures: the library's error name and code, never its payload.
      const e = err as { name?: unknown; code?: unknown };
      request.log.warn(
        { event: 'oauth_refused', provider, code, errName: e?.name, errCode: e?.code },
        'social sign-in failed at the provider',
      );
    }
    return reply.redirect(`${page}?error=${code}`, 302);
  };

  /** The session a link grant names, live and in this browser; else the link is refused. */
  const linkOf = async (request: FastifyRequest, name: string, token: string | undefined) => {
    if (token === undefined) return null;
    const grant = await takeLinkGrant(deps.state, token);
    const session = await liveSessionOfRefreshCookie(
      deps.login.sessions,
      request.cookies[cookieNames(secure).refresh],
    );
    if (!grant || grant.provider !== name || session?.sessionId !== grant.sessionId) {
      throw new Refusal('oauth_link_invalid');
    }
    return { userId: grant.userId, sessionId: grant.sessionId };
  };

  /** Still the live session that asked (it may have ended while the person was at the provider). */
  const sessionStillLive = async (link: { userId: string; sessionId: string }) => {
    const session = await findOwnLiveSession(deps.db, link.userId, link.sessionId);
    return session !== undefined && session.expires_at.getTime() > deps.clock.now();
  };

  const countRequest = async (request: FastifyRequest) => {
    try {
      await deps.limiter.consume(clientKey(request.ip));
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') throw new Refusal('rate_limited');
      throw err;
    }
  };

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['auth'];

    r.get(
      '/auth/oauth/:provider/start',
      {
        config: { access: 'public' },
        schema: {
          tags,
          description:
            'Answers 302 to the provider (PKCE S256, state, nonce) and sets the flow cookie ' +
            '`bastion_oauth` (`__Host-` over HTTPS; HttpOnly, SameSite=Lax, 10 min). An ' +
            'unconfigured provider is 404; a `returnTo` that is not a same-origin relative ' +
            'path becomes `/account`. A refusal is 302 to `/login?error=<code>`.',
          params: ProviderParams,
          querystring: StartQuery,
        },
      },
      async (request, reply) => {
        const name = request.params.provider;
        const provider = providerOf(name);
        const linking = request.query.link !== undefined;
        try {
          await countRequest(request);
          const link = await linkOf(request, name, request.query.link);
          const flow = { state: randomToken(), nonce: randomToken(), verifier: randomToken() };
          const target = await provider.authorizationUrl(flow);
          const sealed = sealFlow(deps.flowKey, name, {
            ...flow,
            returnTo: safeReturnTo(request.query.returnTo),
            device: request.cookies[deviceCookie] ?? null,
            expiresAt: deps.clock.now() + FLOW_TTL_SECONDS * 1000,
            link,
          });
          reply.setCookie(flowCookie, sealed, flowCookieOptions(secure, FLOW_TTL_SECONDS));
          return reply.redirect(target.href, 302);
        } catch (err) {
          return refuse(request, reply, name, err, linking ? '/account' : '/login');
        }
      },
    );

    r.get(
      '/auth/oauth/:provider/callback',
      {
        config: { access: 'public', page: true },
        schema: {
          tags,
          description:
            'The provider sends the browser here. Success ends like a password login ' +
            '(refresh, CSRF and device cookies) and answers 200 with a page whose meta refresh ' +
            'continues to `returnTo`; with MFA on, 302 to `/login?mfa=1#mfaToken=…` with the ' +
            'MFA challenge cookie set. Refusals are 302 to `/login?error=<code>`: ' +
            '`oauth_state_invalid`, `oauth_email_unverified`, `oauth_account_exists`, ' +
            '`oauth_provider_error`, `oauth_account_locked`, `rate_limited`.',
          params: ProviderParams,
          querystring: CallbackQuery,
        },
      },
      async (request, reply) => {
        const name = request.params.provider;
        const provider = providerOf(name);
        let page = '/login';
        try {
          await countRequest(request);
          const flow = openFlow(deps.flowKey, name, request.cookies[flowCookie], deps.clock);
          if (flow?.link) page = '/account';
          // One flow, one answer: the cookie goes whatever happens next.
          reply.clearCookie(flowCookie, flowCookieOptions(secure, 0));
          const state = request.query.state;
          if (!flow || !state || !safeEqual(state, flow.state)) {
            throw new Refusal('oauth_state_invalid');
          }
          // Single use across every instance: a replayed callback finds the mark.
          const fresh = await deps.state.setIfAbsent(
            `oauth-used:${sha256Hex(state)}`,
            '1',
            FLOW_TTL_SECONDS * 1000,
          );
          if (!fresh) throw new Refusal('oauth_state_invalid');
          if (request.query.error || !request.query.code) throw new Refusal('oauth_provider_error');

          const current = new URL(callbackUrl(deps.config.publicUrl, name));
          const query = request.url.indexOf('?');
          current.search = query >= 0 ? request.url.slice(query) : '';
          const profile = await provider.exchange(current, flow);
          if (flow.link) {
            if (!(await sessionStillLive(flow.link))) throw new Refusal('oauth_link_invalid');
            const { userId } = flow.link;
            const { identity, linked } = await linkToAccount(
              deps.db,
              deps.clock,
              userId,
              name,
              profile,
            );
            if (linked) {
              const detail = { provider: name, identityId: identity.id };
              await auditAccountChange(deps.audit, deps.db, deps.clock, request.log, {
                userId,
                action: 'account.identity_linked',
                ip: request.ip,
                detail,
              });
              await deps.events.record(request.log, {
                type: 'identity_linked',
                userId,
                ip: request.ip,
                detail,
              });
              deps.notifyLinked(request.log, userId, name);
            }
            return reply
              .code(200)
              .type('text/html; charset=utf-8')
              .send(continuePage(flow.returnTo));
          }
          const signIn = await resolveSignIn(deps.db, deps.clock, name, profile);
          const { user } = signIn;
          if (user.locked || user.deleted_at !== null) throw new Refusal('oauth_account_locked');
          if (signIn.outcome !== 'existing') {
            const detail = { provider: name, identityId: signIn.identity.id };
            await auditAccountChange(deps.audit, deps.db, deps.clock, request.log, {
              userId: user.id,
              action:
                signIn.outcome === 'created'
                  ? 'account.created_by_provider'
                  : 'account.identity_linked',
              ip: request.ip,
              detail,
            });
            if (signIn.outcome === 'linked') {
              await deps.events.record(request.log, {
                type: 'identity_linked',
                userId: user.id,
                ip: request.ip,
                detail,
              });
            }
          }

          // A provider login is one factor, unless the operator accepts the second factor the
          // provider reports in the signed ID token's `amr` (OAUTH_<NAME>_MFA_AMR).
          const providerMfa = profile.amr.some((v) => provider.mfaAmr.includes(v));
          if (user.mfa_enabled && !providerMfa) {
            const mfaToken = await startMfaChallenge(deps.mfaTokens, reply, secure, user, 'fed');
            const next = `/login?mfa=1&returnTo=${encodeURIComponent(flow.returnTo)}`;
            return reply.redirect(`${next}#mfaToken=${encodeURIComponent(mfaToken)}`, 302);
          }
          // The device cookie is SameSite=Strict, so the one sent at start stands for this browser.
          const device = flow.device ?? request.cookies[deviceCookie];
          const knownDevice = isValidDeviceCookie(deps.login.deviceKey, user.email_key, device);
          await finishLogin(deps.login, request, reply, user, knownDevice, providerMfa, 'fed');
          return reply.code(200).type('text/html; charset=utf-8').send(continuePage(flow.returnTo));
        } catch (err) {
          return refuse(request, reply, name, err, page);
        }
      },
    );
  };
}
