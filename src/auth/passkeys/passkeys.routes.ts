/**
 * Passkeys (issue 15, DESIGN.md "Passkeys"): WebAuthn registration for a signed-in account (recent
 * login), list, rename, remove (never the last way in), and discoverable sign-in that answers like
 * `POST /auth/login`. RP ID and origin come from PUBLIC_URL; user verification is required; the
 * signature counter must move forward. A passkey sign-in is a phishing-resistant second factor,
 * so its session counts as an MFA session.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import { requireRecentAuth } from '../../access/recent-auth.js';
import { platformError } from '../../platform/errors.js';
import { perIp } from '../../platform/rate-limit/rate-limits.js';
import { accountError } from '../accounts/accounts.errors.js';
import { LoginResponse } from '../accounts/accounts.schemas.js';
import { findUserById } from '../accounts/accounts.store.js';
import { finishLogin } from '../accounts/finish-login.js';
import { isKnownDevice } from '../accounts/login-flow.js';
import { mfaCookieOptions } from '../sessions/cookies.js';
import {
  challengeOf,
  PASSKEY_CHALLENGE_TTL_SECONDS,
  PASSKEY_COOKIE_PATH,
  passkeyCookieName,
  rememberLogin,
  takeLogin,
} from './passkey-challenges.js';
import { passkeyError } from './passkeys.errors.js';
import {
  LoginVerifyBody,
  PasskeyList,
  PasskeyOptions,
  PasskeyParams,
  PasskeyView,
  RegisterVerifyBody,
  RenameBody,
  toPasskeyView,
} from './passkeys.schemas.js';
import { type PasskeyDeps, passkeyService } from './passkeys.service.js';
import {
  findPasskeyByCredentialId,
  listPasskeys,
  recordPasskeyUse,
  renamePasskey,
} from './passkeys.store.js';
import { webauthn } from './webauthn.js';

export { type PasskeyDeps, relyingParty } from './passkeys.service.js';

export function passkeyRoutes(deps: PasskeyDeps) {
  const { accounts, sessions, abuse } = deps.login;
  const { db, clock } = accounts;
  const secure = sessions.config.secureCookies;
  const cookieName = passkeyCookieName(secure);

  const passkeys = passkeyService(deps);
  const { rp } = passkeys;

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['auth'];
    const security = [{ bearer: [] }];

    r.post(
      '/auth/passkeys/register/options',
      {
        config: { access: 'authenticated' },
        preHandler: [requireRecentAuth(clock)],
        schema: {
          tags,
          security,
          description:
            'Options for `navigator.credentials.create` (recent login): a discoverable credential ' +
            'with user verification; the challenge is single-use, bound to the caller and valid ' +
            `${PASSKEY_CHALLENGE_TTL_SECONDS} s.`,
          response: { 200: PasskeyOptions },
        },
      },
      async (request) => {
        const user = await passkeys.liveUser(principalOf(request).userId);
        const options = await passkeys.registrationOptions(user);
        return { ...options };
      },
    );

    r.post(
      '/auth/passkeys/register/verify',
      {
        config: { access: 'authenticated' },
        preHandler: [requireRecentAuth(clock)],
        schema: {
          tags,
          security,
          description:
            'Stores the passkey `navigator.credentials.create` made from the options (recent ' +
            'login). A challenge that is unknown, used, expired or issued to another account: ' +
            '400 `passkey_challenge_invalid`; a response that does not verify (origin, RP ID, ' +
            'user verification, signature): 400 `passkey_invalid`; a credential already ' +
            'registered: 409 `passkey_exists`. Audited; the owner is mailed.',
          body: RegisterVerifyBody,
          response: { 201: PasskeyView },
        },
      },
      async (request, reply) => {
        const user = await passkeys.liveUser(principalOf(request).userId);
        const row = await passkeys.register(request, user, request.body);
        return reply.code(201).send(toPasskeyView(row));
      },
    );

    r.get(
      '/auth/passkeys',
      {
        config: { access: 'authenticated' },
        schema: {
          tags,
          security,
          description: "The caller's passkeys, oldest first.",
          response: { 200: PasskeyList },
        },
      },
      async (request) => {
        const rows = await listPasskeys(db, principalOf(request).userId);
        return { items: rows.map(toPasskeyView) };
      },
    );

    r.patch(
      '/auth/passkeys/:id',
      {
        config: { access: 'authenticated' },
        schema: {
          tags,
          security,
          description: "Renames one of the caller's passkeys; another user's id: 404.",
          params: PasskeyParams,
          body: RenameBody,
          response: { 200: PasskeyView },
        },
      },
      async (request) => {
        const { userId } = principalOf(request);
        const row = await renamePasskey(db, userId, request.params.id, request.body.name);
        if (!row) throw platformError('not_found');
        return toPasskeyView(row);
      },
    );

    r.delete(
      '/auth/passkeys/:id',
      {
        config: { access: 'authenticated' },
        preHandler: [requireRecentAuth(clock)],
        schema: {
          tags,
          security,
          description:
            "Removes one of the caller's passkeys (recent login). Another user's id: 404; the " +
            'last way to sign in (no password, no linked identity, no other passkey): 409 ' +
            '`last_sign_in_method`. Audited; the owner is mailed.',
          params: PasskeyParams,
        },
      },
      async (request, reply) => {
        const user = await passkeys.liveUser(principalOf(request).userId);
        await passkeys.remove(request, user, request.params.id);
        return reply.code(204).send();
      },
    );

    r.post(
      '/auth/passkeys/login/options',
      {
        config: { access: 'public' },
        onRequest: [perIp(abuse.limits.token)],
        schema: {
          tags,
          description:
            'Options for `navigator.credentials.get` (discoverable: no account is named). Sets ' +
            'the challenge cookie `bastion_passkey` (`__Secure-bastion_passkey` over HTTPS; ' +
            `HttpOnly, SameSite=Strict, Path=${PASSKEY_COOKIE_PATH}, ` +
            `${PASSKEY_CHALLENGE_TTL_SECONDS} s): the challenge is single-use and honoured ` +
            'only from the browser that holds it.',
          response: { 200: PasskeyOptions },
        },
      },
      async (_request, reply) => {
        const { generateAuthenticationOptions } = await webauthn();
        const options = await generateAuthenticationOptions({
          rpID: rp.id,
          userVerification: 'required',
          timeout: PASSKEY_CHALLENGE_TTL_SECONDS * 1000,
        });
        const nonce = await rememberLogin(deps.state, options.challenge);
        reply.setCookie(
          cookieName,
          nonce,
          mfaCookieOptions(secure, PASSKEY_COOKIE_PATH, PASSKEY_CHALLENGE_TTL_SECONDS),
        );
        return { ...options };
      },
    );

    r.post(
      '/auth/passkeys/login/verify',
      {
        config: { access: 'public' },
        onRequest: [perIp(abuse.limits.token)],
        schema: {
          tags,
          description:
            'Signs in with the passkey `navigator.credentials.get` answered, and answers like ' +
            'POST /auth/login; the session counts as MFA (a passkey with user verification is a ' +
            'phishing-resistant second factor). Without the challenge cookie of the options ' +
            'call, or with a used or expired one: 400 `passkey_challenge_invalid`. An unknown ' +
            'passkey, a response that does not verify (origin, RP ID, user verification, ' +
            'signature), a counter that did not move forward (a cloned authenticator) or an ' +
            'account that cannot sign in: 401 `invalid_credentials`, counted by the login ' +
            'throttle like a wrong password.',
          body: LoginVerifyBody,
          response: { 200: LoginResponse },
        },
      },
      async (request, reply) => passkeyLogin(request, reply),
    );

    async function passkeyLogin(request: FastifyRequest, reply: FastifyReply) {
      const { response } = request.body as { response: LoginVerify['response'] };
      const challenge = challengeOf(response.response.clientDataJSON);
      const taken = await takeLogin(deps.state, request.cookies[cookieName], challenge);
      reply.clearCookie(cookieName, mfaCookieOptions(secure, PASSKEY_COOKIE_PATH, 0));
      if (!taken) throw passkeyError('passkey_challenge_invalid');
      const passkey = await findPasskeyByCredentialId(db, response.id);
      const user = passkey ? await findUserById(db, passkey.user_id) : undefined;
      if (!passkey || !user) throw accountError('invalid_credentials');
      const attempt = {
        ip: request.ip,
        accountKey: user.email_key,
        knownDevice: isKnownDevice(deps.login, request, user.email_key),
      };
      await abuse.throttle.admit(attempt);
      const previous = Number(passkey.counter);
      let outcome: { counter: number; backedUp: boolean } | undefined;
      try {
        const handle = response.response.userHandle;
        const handleMatches =
          handle === undefined || Buffer.from(handle, 'base64url').toString('utf8') === user.id;
        if (handleMatches) {
          const { verifyAuthenticationResponse } = await webauthn();
          const verified = await verifyAuthenticationResponse({
            // biome-ignore lint/suspicious/noExplicitAny: validated by the route schema
            response: response as any,
            expectedChallenge: challenge as string,
            expectedOrigin: rp.origin,
            expectedRPID: rp.id,
            credential: {
              id: passkey.credential_id,
              publicKey: Buffer.from(passkey.public_key, 'base64url'),
              counter: previous,
            },
            requireUserVerification: true,
          });
          if (verified.verified) {
            outcome = {
              counter: verified.authenticationInfo.newCounter,
              backedUp: verified.authenticationInfo.credentialBackedUp,
            };
          }
        }
      } catch {
        outcome = undefined;
      }
      const canSignIn = user.deleted_at === null && !user.locked && user.email_verified_at !== null;
      const recorded =
        outcome !== undefined &&
        canSignIn &&
        (await recordPasskeyUse(
          db,
          passkey.id,
          { counter: outcome.counter, previous, backedUp: outcome.backedUp },
          new Date(clock.now()),
        ));
      if (!recorded) {
        await abuse.throttle.failed(attempt, request.log, async () => user.id);
        throw accountError('invalid_credentials');
      }
      await abuse.throttle.succeeded(attempt);
      // RFC 8176: a credential bound to its device is a hardware key (`hwk`); a synced one, kept
      // in a cloud keychain, a software key (`swk`). Either is a second factor on its own.
      return finishLogin(
        { accounts, sessions, deviceKey: abuse.deviceKey },
        request,
        reply,
        user,
        attempt.knownDevice,
        true,
        passkey.device_type === 'singleDevice' ? 'hwk' : 'swk',
      );
    }
  };
}

type LoginVerify = import('zod').infer<typeof LoginVerifyBody>;
