/**
 * The signing key ring (issue 4; checklist TOK-01, TOK-02, TOK-08): automatic rotation picked up
 * by every instance, private keys sealed at rest, and the three supported algorithms.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  exportSPKI,
  importJWK,
  type JWK,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_ENV, type TestContext } from '../../../test/support/app.js';
import { signUp } from '../../../test/support/auth.js';
import {
  openTestDatabase,
  openTestState,
  type TestDatabase,
} from '../../../test/support/services.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import {
  codeOf,
  DAY,
  me,
  SETUP_TIMEOUT_MS,
  segment,
  splitJwt,
} from '../../../test/support/tokens.js';
import { type JwtAlg, loadConfig } from '../../config.js';
import { manualClock } from '../../platform/clock.js';
import { deriveKey, unseal } from '../../platform/crypto.js';
import type { SharedState } from '../../platform/state/shared-state.js';
import { DEFAULT_PUBLISH_LEAD_SECONDS, KeyRing } from './keyring.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** Generating a 3072-bit RSA key takes seconds, many on a busy machine. */
const RSA_KEYGEN_TIMEOUT_MS = 120_000;
const MASTER_KEY = Buffer.from(TEST_ENV.KEY_ENCRYPTION_KEY as string, 'base64');

let smtp: TestSmtp;
let database: TestDatabase;
let state: SharedState;

beforeAll(async () => {
  smtp = await startTestSmtp();
  database = await openTestDatabase();
  state = await openTestState();
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await state?.close();
  await database?.close();
  await smtp?.close();
});

async function withApp(env: Record<string, string>, run: (ctx: TestContext) => Promise<void>) {
  const ctx = await createTestApp({ database, state, env: { SMTP_URL: smtp.url, ...env } });
  try {
    await run(ctx);
  } finally {
    await ctx.close();
  }
}

async function jwksOf(ctx: TestContext): Promise<{ keys: JWK[] }> {
  const jwks = (await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
  for (const key of jwks.keys) {
    for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
  }
  return jwks;
}

// Its own database and state: it needs an empty key table (the other tests' apps make keys in
// the shared one, whatever order they run in), and it moves its own clock weeks ahead.
describe('automatic rotation after KEY_ROTATION_DAYS', () => {
  let database: TestDatabase;
  let state: SharedState;
  beforeAll(async () => {
    database = await openTestDatabase();
    state = await openTestState();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await state?.close();
    await database?.close();
  });

  it('creates a new key after the configured days, publishes it before it signs, and retires the old one', async () => {
    const config = loadConfig({ ...TEST_ENV, KEY_ROTATION_DAYS: '7' });
    expect(loadConfig(TEST_ENV).jwt.rotationDays).toBe(30);
    const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
    const created: string[] = [];
    const log = {
      info: (obj: { event?: string; kid?: string }) => {
        if (obj.event === 'signing_key_created' && obj.kid) created.push(obj.kid);
      },
      error: () => {},
    };
    const options = {
      db: database.db,
      state,
      clock,
      masterKey: MASTER_KEY,
      alg: 'EdDSA' as const,
      rotationDays: config.jwt.rotationDays,
      verifyOverlapSeconds: 930,
      // No periodic reload during the test: the second instance may learn only through pub/sub.
      refreshIntervalMs: 3_600_000,
      log,
    };
    const keyCount = async () =>
      Number(
        (
          await database.db
            .selectFrom('signing_keys')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await keyCount()).toBe(0);

    const ring = new KeyRing(options);
    const other = new KeyRing(options); // a second instance
    await ring.start();
    await other.start();
    try {
      const first = ring.signingKey().kid;
      expect(other.signingKey().kid).toBe(first);
      expect(created).toEqual([first]);

      clock.advance(7 * DAY - 60_000);
      await ring.maintain();
      expect(await keyCount()).toBe(1);

      clock.advance(120_000);
      await ring.maintain();
      await ring.maintain(); // a pending key is not rotated again
      expect(created).toHaveLength(2);
      const second = created[1] as string;
      // Published (on this instance and, through pub/sub, on the other), not yet signing.
      expect(ring.jwks().keys.map((k) => k.kid)).toEqual([first, second]);
      for (let i = 0; i < 40 && other.jwks().keys.length < 2; i++) await sleep(25);
      expect(other.jwks().keys.map((k) => k.kid)).toEqual([first, second]);
      expect(ring.signingKey().kid).toBe(first);

      clock.advance(DEFAULT_PUBLISH_LEAD_SECONDS * 1000);
      expect(ring.signingKey().kid).toBe(second);
      expect(other.signingKey().kid).toBe(second);
      // The old key verifies for one token lifetime (+ tolerance) after the new one took over.
      clock.advance(930_000 - 1000);
      expect(ring.verificationKey(first)).toBeDefined();
      clock.advance(2000);
      expect(ring.verificationKey(first)).toBeUndefined();
      expect(ring.jwks().keys.map((k) => k.kid)).toEqual([second]);

      // A day later, maintenance deletes it from the database.
      clock.advance(DAY);
      await ring.maintain();
      const kids = await database.db.selectFrom('signing_keys').select('kid').execute();
      expect(kids.map((k) => k.kid)).toEqual([second]);
    } finally {
      await ring.stop();
      await other.stop();
    }
  });
});

describe('private keys at rest', () => {
  it('are sealed: no PEM in the database, and no other master key opens them', async () => {
    await withApp({}, async () => {
      const rows = await database.db
        .selectFrom('signing_keys')
        .select(['kid', 'private_key_sealed'])
        .execute();
      const [row] = rows;
      if (!row) throw new Error('the app created a signing key');
      for (const { private_key_sealed: sealed } of rows) {
        expect(sealed).not.toContain('PRIVATE KEY');
        expect(Buffer.from(sealed, 'base64').toString('latin1')).not.toContain('PRIVATE KEY');
      }
      // Control: the right master key opens it.
      const sealingKey = deriveKey(MASTER_KEY, 'signing-keys');
      expect(unseal(sealingKey, row.private_key_sealed, row.kid)).toContain(
        '-----BEGIN PRIVATE KEY-----',
      );
      // Another master key, the master key itself (not the derived one), or another kid (the
      // associated data) do not.
      const wrongKey = deriveKey(randomBytes(32), 'signing-keys');
      expect(() => unseal(wrongKey, row.private_key_sealed, row.kid)).toThrow();
      expect(() => unseal(MASTER_KEY, row.private_key_sealed, row.kid)).toThrow();
      expect(() => unseal(sealingKey, row.private_key_sealed, `${row.kid}x`)).toThrow();
    });
  });

  it('an instance with another KEY_ENCRYPTION_KEY cannot load them and refuses to start', async () => {
    const otherKey = randomBytes(32).toString('base64');
    await expect(
      createTestApp({ database, state, env: { SMTP_URL: smtp.url, KEY_ENCRYPTION_KEY: otherKey } }),
    ).rejects.toThrow();
  });
});

describe('algorithms', () => {
  const cases: { alg: JwtAlg; kty: string; warns: boolean }[] = [
    { alg: 'EdDSA', kty: 'OKP', warns: false },
    { alg: 'ES256', kty: 'EC', warns: false },
    { alg: 'RS256', kty: 'RSA', warns: true },
  ];

  for (const { alg, kty, warns } of cases) {
    it(
      `JWT_ALG=${alg} issues ${alg} tokens that verify against the JWKS${warns ? ', with a warning at boot' : ''}`,
      async () => {
        await withApp({ JWT_ALG: alg }, async (ctx) => {
          const session = await signUp(ctx.app, smtp);
          const header = decodeProtectedHeader(session.accessToken);
          expect(header).toMatchObject({ alg, typ: 'at+jwt' });

          const jwks = await jwksOf(ctx);
          const key = jwks.keys.find((k) => k.kid === header.kid);
          expect(key).toMatchObject({ kty, alg, use: 'sig' });
          const { payload } = await jwtVerify(session.accessToken, createLocalJWKSet(jwks), {
            issuer: ctx.config.jwt.issuer,
            audience: ctx.config.jwt.audience,
            typ: 'at+jwt',
            algorithms: [alg],
          });
          expect(payload.sub).toBe(session.userId);
          expect((await me(ctx.app, session.accessToken)).statusCode).toBe(200);

          const warning = expect.objectContaining({ level: 40, event: 'weak_jwt_alg' });
          if (warns) expect(ctx.logs).toContainEqual(warning);
          else expect(ctx.logs).not.toContainEqual(warning);
        });
      },
      RSA_KEYGEN_TIMEOUT_MS,
    );
  }

  it('ES256: a "psychic" all-zero signature (CVE-2022-21449, jwt_tool -X p) is refused', async () => {
    await withApp({ JWT_ALG: 'ES256' }, async (ctx) => {
      const session = await signUp(ctx.app, smtp);
      const [h, p] = session.accessToken.split('.') as [string, string];
      const res = await me(ctx.app, `${h}.${p}.${Buffer.alloc(64).toString('base64url')}`);
      expect(res.statusCode).toBe(401);
      expect(codeOf(res)).toBe('unauthorized');
    });
  });

  it(
    'RS256: an HS256 token keyed with the public key PEM is refused (key confusion)',
    async () => {
      await withApp({ JWT_ALG: 'RS256' }, async (ctx) => {
        const session = await signUp(ctx.app, smtp);
        const { header, payload } = splitJwt(session.accessToken);
        const jwk = (await jwksOf(ctx)).keys.find((k) => k.kid === header.kid) as JWK;
        const publicKey = await importJWK(jwk, 'RS256', { extractable: true });
        if (publicKey instanceof Uint8Array) throw new Error('an RSA JWK imports as a key');
        const pem = await exportSPKI(publicKey);
        for (const secret of [pem, pem.trim(), JSON.stringify(jwk)]) {
          const input = `${segment({ ...header, alg: 'HS256' })}.${segment(payload)}`;
          const sig = createHmac('sha256', secret).update(input).digest('base64url');
          const res = await me(ctx.app, `${input}.${sig}`);
          expect(res.statusCode).toBe(401);
          expect(codeOf(res)).toBe('unauthorized');
        }
      });
    },
    RSA_KEYGEN_TIMEOUT_MS,
  );
});
