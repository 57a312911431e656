/**
 * Passkeys in a real Chromium (issue 15) with the DevTools virtual authenticator (CTAP2, resident
 * keys, user verification): a signed-in account adds a passkey with `navigator.credentials.create`
 * from the API's options, then the passkey alone signs in through `navigator.credentials.get`
 * (discoverable: no address typed), with the challenge cookie the browser keeps by itself.
 * Browsers refuse WebAuthn on a bare IP address, so PUBLIC_URL is `http://localhost:<port>`.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS } from '../../../test/support/accounts.js';
import { createActor } from '../../../test/support/actors.js';
import { launchChromium, type ServedApp, serveApp } from '../../../test/support/browser.js';

let served: ServedApp;
let base: string;
let browser: Browser;

beforeAll(async () => {
  served = await serveApp({}, undefined, 'localhost');
  base = served.base;
  browser = await launchChromium({ args: ['--host-resolver-rules=MAP localhost 127.0.0.1'] });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await browser?.close();
  await served?.close();
});

/**
 * Run in the page (plain JavaScript, no DOM types here): the WebAuthn JSON <-> ArrayBuffer
 * conversions @simplewebauthn/browser does, around the API's options and verify routes.
 */
const REGISTER = String.raw`async (token) => {
  const toBuf = (s) =>
    Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const toB64u = (b) =>
    btoa(String.fromCharCode(...new Uint8Array(b)))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  const auth = { authorization: 'Bearer ' + token };
  const o = await (
    await fetch('/auth/passkeys/register/options', { method: 'POST', headers: auth })
  ).json();
  const cred = (await navigator.credentials.create({
    publicKey: {
      ...o,
      challenge: toBuf(o.challenge),
      user: { ...o.user, id: toBuf(o.user.id) },
      excludeCredentials: (o.excludeCredentials ?? []).map((c) => ({
        ...c,
        id: toBuf(c.id),
      })),
    },
  }));
  const r = cred.response;
  const res = await fetch('/auth/passkeys/register/verify', {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'Chromium',
      response: {
        id: cred.id,
        rawId: toB64u(cred.rawId),
        type: cred.type,
        response: {
          clientDataJSON: toB64u(r.clientDataJSON),
          attestationObject: toB64u(r.attestationObject),
          transports: r.getTransports(),
        },
        clientExtensionResults: {},
      },
    }),
  });
  return { status: res.status, body: await res.json() };
}`;

const SIGN_IN = String.raw`async () => {
  const toBuf = (s) =>
    Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const toB64u = (b) =>
    btoa(String.fromCharCode(...new Uint8Array(b)))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  const o = await (await fetch('/auth/passkeys/login/options', { method: 'POST' })).json();
  const cred = (await navigator.credentials.get({
    publicKey: { ...o, challenge: toBuf(o.challenge) },
  }));
  const r = cred.response;
  const res = await fetch('/auth/passkeys/login/verify', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      response: {
        id: cred.id,
        rawId: toB64u(cred.rawId),
        type: cred.type,
        response: {
          clientDataJSON: toB64u(r.clientDataJSON),
          authenticatorData: toB64u(r.authenticatorData),
          signature: toB64u(r.signature),
          userHandle: r.userHandle ? toB64u(r.userHandle) : undefined,
        },
        clientExtensionResults: {},
      },
    }),
  });
  return { status: res.status, body: await res.json() };
}`;

type Answer = { status: number; body: Record<string, unknown> };

describe('passkeys in Chromium (issue 15)', () => {
  it('adds a passkey with the virtual authenticator, then signs in with it alone', async () => {
    const app = served.ctx;
    const user = await createActor(app.app, app.database.db, { prefix: 'chromium' });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport: 'internal',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      });
      await page.goto(`${base}/login`);

      const added = (await page.evaluate(
        `(${REGISTER})(${JSON.stringify(user.accessToken)})`,
      )) as Answer;
      expect(added.status, JSON.stringify(added.body)).toBe(201);
      expect(added.body.name).toBe('Chromium');
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(credentials).toHaveLength(1);
      expect(credentials[0]?.isResidentCredential).toBe(true);

      // No cookie of the account in this browser: the passkey alone signs in.
      await context.clearCookies();
      const signedIn = (await page.evaluate(`(${SIGN_IN})()`)) as Answer;
      expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
      expect((signedIn.body.user as { id: string }).id).toBe(user.userId);
      const amr = JSON.parse(
        Buffer.from(
          String(signedIn.body.accessToken).split('.')[1] as string,
          'base64url',
        ).toString(),
      ).amr as string[];
      // Chromium's virtual authenticator is device-bound (no backup eligibility): `hwk`.
      expect(amr).toEqual(['hwk', 'mfa']);
      const cookies = await context.cookies();
      expect(cookies.map((c) => c.name)).toContain('bastion_refresh');

      // The authenticator's counter moved; a second sign-in works too (the counter still grows).
      const again = (await page.evaluate(`(${SIGN_IN})()`)) as Answer;
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      const row = await app.database.db
        .selectFrom('passkeys')
        .select(['counter', 'last_used_at'])
        .where('user_id', '=', user.userId)
        .executeTakeFirstOrThrow();
      expect(row.last_used_at).not.toBeNull();
    } finally {
      await context.close();
    }
  });
});
