/**
 * Brute force and credential stuffing against POST /auth/login (issue 5; checklist AUTH-01,
 * AUTH-02, AUTH-03), at the real limits: 20 failures per client address per 15 minutes, and per
 * account a doubling backoff from the 10th consecutive failure that a device cookie skips.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attemptLogin,
  DEVICE_COOKIE,
  deviceCookieOf,
  expectRateLimited,
  expectStatus,
  REAL_LOGIN_LIMITS,
  randomIPv4,
  randomIPv6Prefix,
  sleep,
  throwawayEmail,
  WRONG_PASSWORD,
} from '../support/abuse.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { registerAndVerify } from '../support/auth.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';

let smtp: TestSmtp;
let direct: TestContext; // no TRUST_PROXY: the socket address is the client
let proxied: TestContext; // TRUST_PROXY=127.0.0.1: a reverse proxy on loopback names the client

beforeAll(async () => {
  smtp = await startTestSmtp();
  direct = await createTestApp({ env: { SMTP_URL: smtp.url, ...REAL_LOGIN_LIMITS } });
  proxied = await createTestApp({
    env: { SMTP_URL: smtp.url, ...REAL_LOGIN_LIMITS, TRUST_PROXY: '127.0.0.1' },
    database: direct.database,
  });
});
afterAll(async () => {
  await proxied?.close();
  await direct?.close();
  await smtp?.close();
});

const account = () => registerAndVerify(direct.app, smtp);

/** `count` wrong-password logins, each for a different made-up account; all must be 401. */
async function failMany(
  ctx: TestContext,
  count: number,
  from: (i: number) => { ip?: string; forwardedFor?: string },
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await attemptLogin(ctx.app, {
      email: throwawayEmail(),
      password: WRONG_PASSWORD,
      ...from(i),
    });
    expectStatus(res, 401, 'invalid_credentials');
  }
}

describe('attack: many accounts from one address (per-IP limit, AUTH-02)', () => {
  it('20 failures, then the 21st is 429 rate_limited even with a correct password', async () => {
    const victim = await account();
    const ip = randomIPv4();
    await failMany(direct, 20, () => ({ ip }));
    const res = await attemptLogin(direct.app, { ...victim, ip });
    const retryAfter = expectRateLimited(res, 20);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // The limit is on the address, not the account: its owner elsewhere still logs in.
    expectStatus(await attemptLogin(direct.app, { ...victim, ip: randomIPv4() }), 200);
  });

  it('a rotating X-Forwarded-For without TRUST_PROXY does not buy a fresh budget (AUTH-03)', async () => {
    const ip = randomIPv4();
    await failMany(direct, 20, () => ({ ip, forwardedFor: randomIPv4() }));
    const res = await attemptLogin(direct.app, {
      email: throwawayEmail(),
      password: WRONG_PASSWORD,
      ip,
      forwardedFor: randomIPv4(),
    });
    expectRateLimited(res, 20);
  });

  it('IPv6 addresses rotating inside one /64 share one budget; another /64 does not', async () => {
    const prefix = randomIPv6Prefix();
    await failMany(direct, 20, (i) => ({ ip: `${prefix}${(i + 1).toString(16)}::1` }));
    const res = await attemptLogin(direct.app, {
      email: throwawayEmail(),
      password: WRONG_PASSWORD,
      ip: `${prefix}beef:cafe:1:2`,
    });
    expectRateLimited(res, 20);
    const elsewhere = await attemptLogin(direct.app, {
      email: throwawayEmail(),
      password: WRONG_PASSWORD,
      ip: `${randomIPv6Prefix()}beef:cafe:1:2`,
    });
    expectStatus(elsewhere, 401, 'invalid_credentials');
  });
});

describe('attack: X-Forwarded-For behind a trusted proxy (TRUST_PROXY=127.0.0.1, AUTH-03)', () => {
  it('the forwarded client is counted: two clients behind the proxy have separate budgets', async () => {
    const victim = await account();
    const [a, b] = [randomIPv4(), randomIPv4()];
    await failMany(proxied, 20, () => ({ forwardedFor: a }));
    expectRateLimited(await attemptLogin(proxied.app, { ...victim, forwardedFor: a }), 20);
    // The same proxy, another client: untouched.
    expectStatus(await attemptLogin(proxied.app, { ...victim, forwardedFor: b }), 200);
  });

  it('a client prepending forged hops to its X-Forwarded-For is still counted as itself', async () => {
    const client = randomIPv4();
    await failMany(proxied, 20, () => ({ forwardedFor: `${randomIPv4()}, ${client}` }));
    const res = await attemptLogin(proxied.app, {
      email: throwawayEmail(),
      password: WRONG_PASSWORD,
      forwardedFor: `${randomIPv4()}, ${randomIPv4()}, ${client}`,
    });
    expectRateLimited(res, 20);
  });

  it('a forged X-Forwarded-For from an address that is not the proxy is ignored', async () => {
    const ip = `10.9.${Math.floor(Math.random() * 250)}.9`;
    await failMany(proxied, 20, () => ({ ip, forwardedFor: randomIPv4() }));
    const res = await attemptLogin(proxied.app, {
      email: throwawayEmail(),
      password: WRONG_PASSWORD,
      ip,
      forwardedFor: randomIPv4(),
    });
    expectRateLimited(res, 20);
  });
});

describe('attack: one account from many addresses (per-account backoff, AUTH-01)', () => {
  it('10 failures from 10 addresses throttle the correct password; the backoff grows, then ends', async () => {
    const victim = await account();
    for (let i = 0; i < 10; i++) {
      const res = await attemptLogin(direct.app, {
        email: victim.email,
        password: WRONG_PASSWORD,
        ip: randomIPv4(),
      });
      expectStatus(res, 401, 'invalid_credentials');
    }
    // Right after the 10th: even the right password, from a fresh address, waits.
    const first = expectRateLimited(
      await attemptLogin(direct.app, { ...victim, ip: randomIPv4() }),
    );
    expect(first).toBe(1);

    // The 11th failure (once the first block is over) blocks for longer.
    await sleep(first * 1000 + 100);
    const eleventh = await attemptLogin(direct.app, {
      email: victim.email,
      password: WRONG_PASSWORD,
      ip: randomIPv4(),
    });
    expectStatus(eleventh, 401, 'invalid_credentials');
    const second = expectRateLimited(
      await attemptLogin(direct.app, { ...victim, ip: randomIPv4() }),
    );
    expect(second).toBeGreaterThan(first);
    expect(second).toBe(2);

    // Never a permanent lock: once the backoff has passed the owner gets in.
    await sleep(second * 1000 + 100);
    expectStatus(await attemptLogin(direct.app, { ...victim, ip: randomIPv4() }), 200);
  });

  it('a success resets the count: 9 more failures afterwards do not throttle', async () => {
    const victim = await account();
    for (let i = 0; i < 9; i++) {
      const res = await attemptLogin(direct.app, {
        email: victim.email,
        password: WRONG_PASSWORD,
        ip: randomIPv4(),
      });
      expectStatus(res, 401, 'invalid_credentials');
    }
    expectStatus(await attemptLogin(direct.app, { ...victim, ip: randomIPv4() }), 200);
    // Without the reset these would be failures 10..18, and the login after them a 429.
    for (let i = 0; i < 9; i++) {
      const res = await attemptLogin(direct.app, {
        email: victim.email,
        password: WRONG_PASSWORD,
        ip: randomIPv4(),
      });
      expectStatus(res, 401, 'invalid_credentials');
    }
    expectStatus(await attemptLogin(direct.app, { ...victim, ip: randomIPv4() }), 200);
  });
});

describe('attack: concurrent bursts against the budgets', () => {
  /** Fires `count` logins at once; how many were really checked (401) and how many refused. */
  async function burst(count: number, make: (i: number) => Parameters<typeof attemptLogin>[1]) {
    const all = await Promise.all(
      Array.from({ length: count }, (_, i) => attemptLogin(direct.app, make(i))),
    );
    const statuses = all.map((r) => r.statusCode);
    expect(
      statuses.every((s) => s === 401 || s === 429 || s === 503),
      String(statuses),
    ).toBe(true);
    return {
      guessed: statuses.filter((s) => s === 401).length,
      limited: all.filter((r) => r.statusCode === 429),
    };
  }

  it('40 guesses at once from one address get at most the 20 the address is allowed', async () => {
    const ip = randomIPv4();
    const { guessed, limited } = await burst(40, () => ({
      email: throwawayEmail(),
      password: WRONG_PASSWORD,
      ip,
    }));
    expect(guessed).toBeLessThanOrEqual(20);
    expect(limited.length).toBeGreaterThan(0);
    for (const res of limited) expectRateLimited(res, 20);
  });

  it('40 guesses at once on one account get at most its 10 free failures, then 1 per backoff', async () => {
    const victim = await account();
    const first = await burst(40, () => ({
      email: victim.email,
      password: WRONG_PASSWORD,
      ip: randomIPv4(),
    }));
    // The 10 free failures, and at most the one guess that claims the first backoff slot.
    expect(first.guessed).toBeLessThanOrEqual(11);
    expect(first.limited.length).toBeGreaterThan(0);

    // Once the backoff is over, the next burst gets one guess, not a burst's worth.
    const wait = Math.max(...first.limited.map((r) => Number(r.headers['retry-after'])));
    await sleep(wait * 1000 + 100);
    const second = await burst(20, () => ({
      email: victim.email,
      password: WRONG_PASSWORD,
      ip: randomIPv4(),
    }));
    expect(second.guessed).toBeLessThanOrEqual(1);
  });
});

describe('attack: locking the owner out (device cookies)', () => {
  it('30 failures from many addresses do not stop the owner on a known device', async () => {
    const owner = await account();
    const ownerIp = randomIPv4();
    const first = await attemptLogin(direct.app, { ...owner, ip: ownerIp });
    expectStatus(first, 200);
    const device = deviceCookieOf(first);
    expect(device.startsWith(`${DEVICE_COOKIE}=`)).toBe(true);

    // A device cookie legitimately issued for another account (the attacker's own).
    const other = await account();
    const otherDevice = deviceCookieOf(await attemptLogin(direct.app, { ...other, ip: ownerIp }));
    // The owner's cookie with its MAC altered.
    const value = device.slice(DEVICE_COOKIE.length + 1);
    const last = value.at(-1) === 'A' ? 'B' : 'A';
    const tampered = `${DEVICE_COOKIE}=${value.slice(0, -1)}${last}`;
    // The owner's nonce with the other account's MAC.
    const spliced = `${DEVICE_COOKIE}=${value.split('.')[0]}.${otherDevice.split('.')[1]}`;

    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await attemptLogin(direct.app, {
        email: owner.email,
        password: WRONG_PASSWORD,
        ip: randomIPv4(),
      });
      statuses.push(res.statusCode);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses).toContain(429);

    // Checked at once, while the backoff from the attacker's last failure is still running.
    const [plain, foreign, forged, splicedRes] = await Promise.all([
      attemptLogin(direct.app, { ...owner, ip: ownerIp }),
      attemptLogin(direct.app, { ...owner, ip: ownerIp, cookie: otherDevice }),
      attemptLogin(direct.app, { ...owner, ip: ownerIp, cookie: tampered }),
      attemptLogin(direct.app, { ...owner, ip: ownerIp, cookie: spliced }),
    ]);
    for (const res of [plain, foreign, forged, splicedRes]) expectRateLimited(res);

    const known = await attemptLogin(direct.app, { ...owner, ip: ownerIp, cookie: device });
    expectStatus(known, 200);
    expect(known.json().user.email).toBe(owner.email);
  });
});

describe('attack: a device cookie is no pass through the per-IP limits', () => {
  it("20 failures from the owner's address, then the owner with a valid device cookie is 429 there", async () => {
    const owner = await account();
    const ip = randomIPv4();
    const first = await attemptLogin(direct.app, { ...owner, ip });
    expectStatus(first, 200);
    const device = deviceCookieOf(first);

    await failMany(direct, 20, () => ({ ip }));
    expectRateLimited(await attemptLogin(direct.app, { ...owner, ip, cookie: device }), 20);
    // The cookie itself is still good: from another address it logs in.
    const elsewhere = await attemptLogin(direct.app, {
      ...owner,
      ip: randomIPv4(),
      cookie: device,
    });
    expectStatus(elsewhere, 200);
  });
});

/** The attributes of the Set-Cookie line for `name` (lower-cased keys; flags map to ''). */
function setCookieAttributes(res: LightMyRequestResponse, name: string): Map<string, string> {
  const line = [res.headers['set-cookie'] ?? []]
    .flat()
    .find((c) => c.startsWith(`${name}=`) && c.length > name.length + 1);
  if (!line) throw new Error(`no ${name} cookie in ${res.statusCode} ${res.body}`);
  const attrs = new Map<string, string>();
  for (const part of line.split(';').slice(1)) {
    const [key = '', value = ''] = part.trim().split('=');
    attrs.set(key.toLowerCase(), value);
  }
  return attrs;
}

describe('the device cookie', () => {
  it('on plain HTTP: bastion_device, HttpOnly, SameSite=Strict, Path=/, host-only, kept a year', async () => {
    const owner = await account();
    const res = await attemptLogin(direct.app, { ...owner, ip: randomIPv4() });
    expectStatus(res, 200);
    const attrs = setCookieAttributes(res, DEVICE_COOKIE);
    expect(attrs.has('httponly')).toBe(true);
    expect(attrs.get('samesite')).toBe('Strict');
    expect(attrs.get('path')).toBe('/');
    expect(attrs.has('domain')).toBe(false);
    expect(attrs.get('max-age')).toBe(String(365 * 86_400));
  });

  it('over HTTPS behind a trusted proxy: __Host-bastion_device, Secure, HttpOnly, SameSite=Strict, Path=/', async () => {
    const owner = await account();
    const https = await createTestApp({
      env: {
        SMTP_URL: smtp.url,
        ...REAL_LOGIN_LIMITS,
        PUBLIC_URL: 'https://bastion.example',
        TRUST_PROXY: '127.0.0.1',
      },
      database: direct.database,
    });
    try {
      const res = await https.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: owner.email, password: owner.password },
        headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': randomIPv4() },
      });
      expectStatus(res, 200);
      const attrs = setCookieAttributes(res, `__Host-${DEVICE_COOKIE}`);
      for (const flag of ['secure', 'httponly']) expect(attrs.has(flag), flag).toBe(true);
      expect(attrs.get('samesite')).toBe('Strict');
      expect(attrs.get('path')).toBe('/');
      // `__Host-` forbids a Domain: the cookie stays with this exact host.
      expect(attrs.has('domain')).toBe(false);
      const names = [res.headers['set-cookie'] ?? []].flat().map((c) => c.split('=')[0]);
      expect(names).not.toContain(DEVICE_COOKIE);
    } finally {
      await https.close();
    }
  });
});

describe('security events for throttling', () => {
  it('an account crossing its backoff threshold records account_throttled; an IP, ip_throttled', async () => {
    const victim = await account();
    const tenth = randomIPv4();
    for (let i = 1; i <= 10; i++) {
      const res = await attemptLogin(direct.app, {
        email: victim.email,
        password: WRONG_PASSWORD,
        ip: i === 10 ? tenth : randomIPv4(),
      });
      expectStatus(res, 401, 'invalid_credentials');
    }
    const ip = randomIPv4();
    await failMany(direct, 20, () => ({ ip }));

    const rows = await direct.database.db
      .selectFrom('security_events')
      .select(['type', 'ip', 'detail'])
      .where('ip', 'in', [tenth, ip])
      .where('type', 'in', ['account_throttled', 'ip_throttled'])
      .execute();
    expect(rows.map((r) => [r.type, r.ip]).sort()).toEqual([
      ['account_throttled', tenth],
      ['ip_throttled', ip],
    ]);
    const logged = direct.logs.filter((l) => l.level === 40).map((l) => l.event);
    expect(logged).toEqual(expect.arrayContaining(['account_throttled', 'ip_throttled']));
  });
});
