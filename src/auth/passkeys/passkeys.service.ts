/**
 * What adding and removing a passkey does, shared by the API routes (bearer) and the `/account`
 * page (the page session): the registration options and their verification, removal (never the
 * last way in), each with its audit entry, lifecycle event and mail to the owner.
 */
import type { VerifiedRegistrationResponse } from '@simplewebauthn/server';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Config } from '../../config.js';
import { appendAccountChange } from '../../platform/audit/account-audit.js';
import type { User } from '../../platform/db/schema.js';
import { platformError } from '../../platform/errors.js';
import { emitLifecycle } from '../../platform/lifecycle/lifecycle.js';
import type { SharedState } from '../../platform/state/shared-state.js';
import { sendNotice } from '../accounts/accounts.service.js';
import { findUserById } from '../accounts/accounts.store.js';
import type { LoginDeps } from '../accounts/login-flow.js';
import { mfaChangedMail } from '../accounts/mails.js';
import {
  challengeOf,
  PASSKEY_CHALLENGE_TTL_SECONDS,
  rememberRegistration,
  takeRegistration,
} from './passkey-challenges.js';
import { passkeyError } from './passkeys.errors.js';
import type { RegisterVerifyBody } from './passkeys.schemas.js';
import { countPasskeys, insertPasskey, listPasskeys, type Passkey } from './passkeys.store.js';
import { webauthn } from './webauthn.js';

export interface PasskeyDeps {
  readonly config: Pick<Config, 'publicUrl' | 'appName'>;
  readonly state: SharedState;
  readonly login: LoginDeps;
}

/** The relying party: PUBLIC_URL's host name and origin, the app's name. */
export function relyingParty(config: Pick<Config, 'publicUrl' | 'appName'>) {
  const url = new URL(config.publicUrl);
  return { id: url.hostname, origin: url.origin, name: config.appName };
}

const ADDED = 'A passkey was added to your account.';
const REMOVED = 'A passkey was removed from your account.';

export type PasskeyService = ReturnType<typeof passkeyService>;

export function passkeyService(deps: PasskeyDeps) {
  const { accounts } = deps.login;
  const { db, clock } = accounts;
  const rp = relyingParty(deps.config);

  /** Runs a passkey add or remove with its audit entry and lifecycle event, then mails the owner. */
  async function changePasskeys<T>(
    request: FastifyRequest,
    user: User,
    action: 'account.passkey_added' | 'account.passkey_removed',
    change: (trx: typeof db) => Promise<{ result: T; passkeyId: string }>,
  ): Promise<T> {
    const out = await db.transaction().execute(async (trx) => {
      const now = new Date(clock.now());
      const done = await change(trx);
      const detail = { passkeyId: done.passkeyId };
      await appendAccountChange(accounts.audit, trx, now, {
        userId: user.id,
        action,
        ip: request.ip,
        detail,
      });
      await emitLifecycle(trx, {
        type: 'user.mfa_changed',
        userId: user.id,
        data: { passkey: action === 'account.passkey_added' ? 'added' : 'removed', ...detail },
      });
      return done.result;
    });
    sendNotice(accounts, request.log, user, (url) =>
      mfaChangedMail(user.email, action === 'account.passkey_added' ? ADDED : REMOVED, url),
    );
    return out;
  }

  return {
    rp,

    async liveUser(userId: string): Promise<User> {
      const user = await findUserById(db, userId);
      if (!user || user.deleted_at !== null) throw platformError('not_found');
      return user;
    },

    /** Options for `navigator.credentials.create`; the challenge is remembered for this account. */
    async registrationOptions(user: User) {
      const existing = await listPasskeys(db, user.id);
      const { generateRegistrationOptions } = await webauthn();
      const options = await generateRegistrationOptions({
        rpName: rp.name,
        rpID: rp.id,
        userName: user.email,
        userDisplayName: user.display_name ?? user.email,
        userID: new TextEncoder().encode(user.id),
        attestationType: 'none',
        timeout: PASSKEY_CHALLENGE_TTL_SECONDS * 1000,
        excludeCredentials: existing.map((p) => ({
          id: p.credential_id,
          transports: p.transports ? p.transports.split(',') : undefined,
        })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      });
      await rememberRegistration(deps.state, user.id, options.challenge);
      return options;
    },

    /** Verifies what `navigator.credentials.create` answered and stores the passkey. */
    async register(
      request: FastifyRequest,
      user: User,
      body: z.infer<typeof RegisterVerifyBody>,
    ): Promise<Passkey> {
      const { response, name } = body;
      const challenge = challengeOf(response.response.clientDataJSON);
      if (!(await takeRegistration(deps.state, user.id, challenge))) {
        throw passkeyError('passkey_challenge_invalid');
      }
      let info: VerifiedRegistrationResponse['registrationInfo'];
      try {
        const { verifyRegistrationResponse } = await webauthn();
        const verified = await verifyRegistrationResponse({
          // biome-ignore lint/suspicious/noExplicitAny: validated by the route schema
          response: response as any,
          expectedChallenge: challenge as string,
          expectedOrigin: rp.origin,
          expectedRPID: rp.id,
          requireUserVerification: true,
        });
        info = verified.verified ? verified.registrationInfo : undefined;
      } catch {
        info = undefined;
      }
      if (!info) throw passkeyError('passkey_invalid');
      const credential = info.credential;
      const registered = info;
      return changePasskeys(request, user, 'account.passkey_added', async (trx) => {
        const inserted = await insertPasskey(
          trx,
          {
            userId: user.id,
            credentialId: credential.id,
            publicKey: Buffer.from(credential.publicKey).toString('base64url'),
            counter: credential.counter,
            transports: (credential.transports ?? []).slice(0, 10),
            deviceType: registered.credentialDeviceType,
            backedUp: registered.credentialBackedUp,
            name: name ?? 'Passkey',
          },
          new Date(clock.now()),
        );
        if (!inserted) throw passkeyError('passkey_exists');
        return { result: inserted, passkeyId: inserted.id };
      });
    },

    /** Removes one of the user's passkeys; never the last way to sign in. */
    async remove(request: FastifyRequest, user: User, id: string): Promise<void> {
      await changePasskeys(request, user, 'account.passkey_removed', async (trx) => {
        // The account row is locked so two removals cannot each leave "the other" method.
        const locked = await trx
          .selectFrom('users')
          .select(['id', 'password_hash'])
          .where('id', '=', user.id)
          .forUpdate()
          .executeTakeFirst();
        const own = await trx
          .selectFrom('passkeys')
          .select('id')
          .where('id', '=', id)
          .where('user_id', '=', user.id)
          .executeTakeFirst();
        if (!locked || !own) throw platformError('not_found');
        const identities = await trx
          .selectFrom('identities')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('user_id', '=', user.id)
          .executeTakeFirstOrThrow();
        const otherPasskeys = (await countPasskeys(trx, user.id)) - 1;
        if (locked.password_hash === null && Number(identities.n) === 0 && otherPasskeys === 0) {
          throw passkeyError('last_sign_in_method');
        }
        await trx
          .deleteFrom('passkeys')
          .where('id', '=', id)
          .where('user_id', '=', user.id)
          .execute();
        return { result: undefined, passkeyId: id };
      });
    },
  };
}
