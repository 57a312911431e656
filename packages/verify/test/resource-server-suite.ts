/**
 * What every example resource server must do with Bastion's tokens (issue 18), run against a
 * real, listening Bastion: accept its tokens with a typed principal; refuse forged, alg-confused,
 * wrong-audience, wrong-type and expired ones; keep accepting across a key rotation; and refuse a
 * logged-out session within 1 s without a call to Bastion per request.
 */
import { createHmac, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import type { Principal, VerifierOptions, VerifyError } from '@bastion/verify';
import { decodeProtectedHeader, exportJWK, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { STRONG_PASSWORD } from '../../../test/support/auth.js';
import { startMfaLogin } from '../../../test/support/mfa.js';
import {
  addPasskey,
  loginOptions,
  loginVerify,
  SoftAuthenticator,
} from '../../../test/support/passkeys.js';
import { segment, splitJwt } from '../../../test/support/tokens.js';
import { AUDIENCE, type Bastion, PUBLISH_LEAD_MS, SERVICE_TOKEN, startBastion } from './bastion.js';

export interface Note {
  readonly id: string;
  readonly ownerId: string;
  readonly text: string;
}

export interface ResourceServerOptions {
  readonly verifier: VerifierOptions;
  readonly notes: ReadonlyMap<string, Note>;
  readonly onRefused: (err: VerifyError) => void;
}

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

const JWKS_PATH = '/.well-known/jwks.json';
const SETUP_TIMEOUT_MS = 180_000;

export function resourceServerSuite(
  name: string,
  start: (options: ResourceServerOptions) => Promise<RunningServer>,
): void {
  describe(`${name} resource server with @bastion/verify`, () => {
    let bastion: Bastion;
    let server: RunningServer;
    let reader: { userId: string; accessToken: string };
    const notes = new Map<string, Note>();
    const refusals: string[] = [];

    beforeAll(async () => {
      bastion = await startBastion();
      reader = await bastion.newUser('reader');
      notes.set('n1', { id: 'n1', ownerId: reader.userId, text: 'mine' });
      server = await start({
        verifier: {
          issuer: bastion.url,
          audience: AUDIENCE,
          revocations: { serviceToken: SERVICE_TOKEN },
        },
        notes,
        onRefused: (err) => refusals.push(err.code),
      });
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => {
      await server?.close();
      await bastion?.close();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    const get = (path: string, token?: string) =>
      fetch(`${server.url}${path}`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });

    /** Expects the example's 401 and the kit's reason for it. */
    async function refused(token: string, code: string) {
      const before = refusals.length;
      const res = await get('/me', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      // Every refused token is the same answer; the reason is the service's to log.
      expect(await res.json()).toMatchObject({ status: 401, code: 'unauthorized' });
      expect(refusals.slice(before)).toEqual([code]);
    }

    async function publishedKeys(): Promise<JWK[]> {
      const res = await bastion.ctx.app.inject({ method: 'GET', url: JWKS_PATH });
      return (res.json() as { keys: JWK[] }).keys;
    }

    it('accepts a Bastion token as a typed principal; another user’s note is a 404 like a missing one; roles', async () => {
      const res = await get('/me', reader.accessToken);
      expect(res.status).toBe(200);
      const principal = (await res.json()) as Principal;
      const { payload } = splitJwt(reader.accessToken);
      expect(principal).toEqual({
        userId: reader.userId,
        sessionId: payload.sid,
        roles: ['user'],
        mfa: false,
        authTime: payload.auth_time,
        tokenId: payload.jti,
        expiresAt: payload.exp,
      });

      expect((await get('/notes/n1', reader.accessToken)).status).toBe(200);
      const stranger = await bastion.newUser('stranger');
      const foreign = await get('/notes/n1', stranger.accessToken);
      const missing = await get('/notes/n404', stranger.accessToken);
      expect(foreign.status).toBe(404);
      expect(missing.status).toBe(404);
      expect(await foreign.json()).toEqual(await missing.json());

      const forbidden = await get('/admin/notes', reader.accessToken);
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toMatchObject({ code: 'forbidden' });
      const admin = await bastion.newAdmin();
      expect((await get('/admin/notes', admin.accessToken)).status).toBe(200);
      expect(await (await get('/me', admin.accessToken)).json()).toMatchObject({
        roles: expect.arrayContaining(['admin']),
        mfa: true,
      });

      // A passkey session's token says `["hwk", "mfa"]`, no `otp`: still a second factor here.
      const keyUser = await bastion.newUser('passkey');
      const authenticator = new SoftAuthenticator(bastion.url);
      const { credential } = await addPasskey(bastion.ctx.app, keyUser.accessToken, authenticator);
      const { options, cookie } = await loginOptions(bastion.ctx.app);
      const signedIn = await loginVerify(
        bastion.ctx.app,
        cookie,
        authenticator.get(options, credential),
      );
      expect(signedIn.statusCode, signedIn.body).toBe(200);
      const passkeyToken = signedIn.json().accessToken as string;
      expect(splitJwt(passkeyToken).payload.amr).toEqual(['hwk', 'mfa']);
      expect(await (await get('/me', passkeyToken)).json()).toMatchObject({
        userId: keyUser.userId,
        mfa: true,
      });

      const anonymous = await get('/me');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('refuses forged tokens: Bastion’s claims and kid signed by another key, an embedded jwk, an unknown kid', async () => {
      const { header, payload } = splitJwt(reader.accessToken);
      const attacker = generateKeyPairSync('ed25519');
      const attackerJwk = await exportJWK(attacker.publicKey);
      const forge = (extra: Record<string, unknown>) =>
        new SignJWT(payload)
          .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', ...extra })
          .sign(attacker.privateKey);
      await refused(await forge({ kid: header.kid }), 'invalid_signature');
      await refused(await forge({ kid: header.kid, jwk: attackerJwk }), 'invalid_signature');
      await refused(await forge({ kid: 'attacker-key' }), 'unknown_key');
      // A tampered payload under Bastion's real signature.
      const [h, , s] = reader.accessToken.split('.');
      await refused(`${h}.${segment({ ...payload, roles: ['admin'] })}.${s}`, 'invalid_signature');
    });

    it('refuses alg confusion: HS256 keyed with Bastion’s public key (PEM and JWK), alg none', async () => {
      const { header, payload } = splitJwt(reader.accessToken);
      const [jwk] = (await publishedKeys()).filter((k) => k.kid === header.kid);
      if (!jwk) throw new Error('the token’s key is published');
      const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({
        type: 'spki',
        format: 'pem',
      });
      for (const secret of [pem, JSON.stringify(jwk), Buffer.from(jwk.x as string, 'base64url')]) {
        const signingInput = `${segment({ alg: 'HS256', typ: 'at+jwt', kid: header.kid })}.${segment(payload)}`;
        const mac = createHmac('sha256', secret).update(signingInput).digest('base64url');
        await refused(`${signingInput}.${mac}`, 'algorithm_not_allowed');
      }
      const none = `${segment({ alg: 'none', typ: 'at+jwt', kid: header.kid })}.${segment(payload)}.`;
      await refused(none, 'algorithm_not_allowed');
    });

    it('refuses Bastion-signed tokens it must not take: another audience, the MFA challenge token, an expired one', async () => {
      // Same issuer and key, minted by an instance whose JWT_AUDIENCE is another service's.
      const billing = await bastion.tokenFor(bastion.other, reader.userId);
      expect(decodeProtectedHeader(billing).kid).toBe(
        decodeProtectedHeader(reader.accessToken).kid,
      );
      await refused(billing, 'wrong_audience');

      // Signed with the same key, typ mfa+jwt: the second login step's token is no access token.
      const admin = await bastion.newAdmin();
      const challenge = await startMfaLogin(bastion.ctx.app, admin.email, STRONG_PASSWORD);
      await refused(challenge.mfaToken, 'wrong_type');

      // The service's clock past the token's exp plus the 5 s leeway.
      const fresh = await bastion.tokenFor(bastion.ctx, reader.userId);
      expect((await get('/me', fresh)).status).toBe(200);
      const exp = splitJwt(fresh).payload.exp as number;
      vi.useFakeTimers({ toFake: ['Date'], now: (exp + 6) * 1000 });
      await refused(fresh, 'token_expired');
      vi.setSystemTime((exp + 4) * 1000);
      expect((await get('/me', fresh)).status).toBe(200);
    });

    it('keeps accepting across a key rotation: one JWKS refetch for the new kid, old tokens still valid', async () => {
      const oldToken = await bastion.tokenFor(bastion.ctx, reader.userId);
      const oldKid = decodeProtectedHeader(oldToken).kid;
      expect((await get('/me', oldToken)).status).toBe(200);

      const newKid = await bastion.rotateKeys();
      for (let i = 0; i < 40; i++) {
        if ((await publishedKeys()).some((k) => k.kid === newKid)) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Published, not signing yet.
      const during = await bastion.tokenFor(bastion.ctx, reader.userId);
      expect(decodeProtectedHeader(during).kid).toBe(oldKid);
      expect((await get('/me', during)).status).toBe(200);

      // Six minutes later on both sides: the new key signs.
      bastion.clock.advance(PUBLISH_LEAD_MS);
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + PUBLISH_LEAD_MS });
      const rotated = await bastion.tokenFor(bastion.ctx, reader.userId);
      expect(decodeProtectedHeader(rotated).kid).toBe(newKid);
      const jwksFetches = () => bastion.requests.filter((r) => r.url === JWKS_PATH).length;
      const before = jwksFetches();
      expect((await get('/me', rotated)).status).toBe(200);
      expect((await get('/me', rotated)).status).toBe(200);
      expect(jwksFetches()).toBe(before + 1);
      expect((await get('/me', oldToken)).status).toBe(200);
      expect((await get('/me', during)).status).toBe(200);
    });

    it('refuses a session logged out on Bastion within 1 s, without a call to Bastion per request', async () => {
      const user = await bastion.newUser('leaver');
      const otherSession = await bastion.tokenFor(bastion.ctx, user.userId);
      expect((await get('/me', user.accessToken)).status).toBe(200);
      expect((await get('/me', otherSession)).status).toBe(200);
      const calls = bastion.requests.length;
      for (let i = 0; i < 20; i++) expect((await get('/me', user.accessToken)).status).toBe(200);

      await bastion.logout(user.accessToken);
      const deadline = Date.now() + 1000;
      let status = 200;
      while (status === 200 && Date.now() < deadline) {
        status = (await get('/me', user.accessToken)).status;
        if (status === 200) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(status).toBe(401);
      expect(refusals.at(-1)).toBe('token_revoked');
      // Only that session: the user's other one still works.
      expect((await get('/me', otherSession)).status).toBe(200);
      // Everything the service learnt came over the feed it already held open.
      expect(bastion.requests.slice(calls)).toEqual([]);
    });
  });
}
