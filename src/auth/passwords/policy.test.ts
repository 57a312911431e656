import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  codePointLength,
  createPasswordPolicy,
  MAX_PASSWORD_CODE_POINTS,
  normalizePassword,
  type PasswordPolicy,
  type PasswordVerdict,
  type WeakPasswordRule,
} from './policy.js';

const alice = { email: 'alice.walker@example.com', displayName: 'Alice Walker' };
const PASSPHRASE = 'purple tractor whispers at dawn';
/** A strong phrase: random words with emoji between them. */
const STRONG_WORDS = [
  'lantern',
  'quiver',
  '🦔',
  'basalt',
  'orchid',
  'tundra',
  '🎻',
  'gossamer',
  'pylon',
  'marzipan',
  '🛶',
  'cobalt',
  'yodel',
  'fjord',
  'thimble',
  '🧭',
  'sorrel',
  'kelp',
  'zephyr',
  'ravine',
];
function strongPhrase(codePoints: number): string {
  let phrase = '';
  for (let i = 0; codePointLength(phrase) < codePoints; i++)
    phrase += `${STRONG_WORDS[(i * 7) % STRONG_WORDS.length]} `;
  return [...phrase].slice(0, codePoints).join('');
}

function expectRule(verdict: PasswordVerdict, rule: WeakPasswordRule) {
  expect(verdict).toMatchObject({ ok: false, rule });
  if (verdict.ok) return;
  expect(verdict.suggestions.length).toBeGreaterThan(0);
  for (const s of verdict.suggestions) {
    expect(s).toMatch(/^[A-Z].*\.$/); // a plain sentence
    expect(s).not.toMatch(/score|entropy|log10|guesses/i);
  }
}

let dir: string;
let policy: PasswordPolicy;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bastion-policy-'));
  policy = await createPasswordPolicy({ minLength: 15 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('password helpers', () => {
  it('counts code points, not UTF-16 units', () => {
    expect(codePointLength('abc')).toBe(3);
    expect('🔐🔐'.length).toBe(4);
    expect(codePointLength('🔐🔐')).toBe(2);
    expect(codePointLength('')).toBe(0);
  });

  it('normalizes to NFKC', () => {
    expect(normalizePassword('ｐａｓｓ')).toBe('pass');
    expect(normalizePassword('e\u0301')).toBe('é');
    expect(normalizePassword('ﬁ')).toBe('fi');
  });
});

describe('password policy', () => {
  it('accepts a lowercase passphrase of unrelated words', () => {
    expect(policy.check(PASSPHRASE, alice)).toEqual({ ok: true });
    expect(policy.check('mango velvet cipher orbit quietly', alice)).toEqual({ ok: true });
  });

  it('too_short: 14 code points with a 15 minimum', () => {
    expectRule(policy.check('amber kite lo9', alice), 'too_short');
    const fifteen = policy.check('amber kite lo9q', alice);
    expect(fifteen.ok || fifteen.rule !== 'too_short').toBe(true);
  });

  it('counts the minimum in code points: 14 emoji are too short even if 28 UTF-16 units', () => {
    const fourteen = '🦔🎻🛶🧭🌋🪐🦑🍄🧊🪁🐙🥨🎲🪗';
    expect(fourteen.length).toBe(28);
    expectRule(policy.check(fourteen, alice), 'too_short');
  });

  it('too_long: 257 code points (emoji prove code points are counted), never truncated', () => {
    const exactly = strongPhrase(MAX_PASSWORD_CODE_POINTS);
    expect(codePointLength(exactly)).toBe(256);
    expect(exactly.length).toBeGreaterThan(256);
    expect(policy.check(exactly, alice)).toEqual({ ok: true });

    expectRule(policy.check(`${exactly}x`, alice), 'too_long');
    expectRule(policy.check('🔐'.repeat(257), alice), 'too_long');
    // 200 emoji are 400 UTF-16 units but only 200 code points: not too long.
    const verdict = policy.check('🔐'.repeat(200), alice);
    expect(verdict.ok === false && verdict.rule).not.toBe('too_long');
  });

  it('refuses a 10 MB password at once: never normalized, counted or scored', () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    // Every costly step (NFKC, the code-point count, zxcvbn) starts from the normalized form.
    const normalize = vi.spyOn(String.prototype, 'normalize');
    try {
      expectRule(policy.check(huge, alice), 'too_long');
      expect(normalize).not.toHaveBeenCalled();
    } finally {
      normalize.mockRestore();
    }
  });

  it('breached: in the zxcvbn-ts common-password dictionary, any case or width', () => {
    expectRule(policy.check('passwordpassword', alice), 'breached');
    expectRule(policy.check('PasswordPassword', alice), 'breached');
    expectRule(policy.check('123456789qwerty', alice), 'breached');
    expectRule(policy.check('ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ', alice), 'breached');
  });

  it('password1234567 is refused (too_guessable: it is not in the shipped dictionary)', () => {
    expectRule(policy.check('password1234567', alice), 'too_guessable');
  });

  it("breached: in the operator's blocklist, as a password or a SHA-1 line", async () => {
    const file = join(dir, 'blocklist.txt');
    // A plain line, and the SHA-1 of "password1234567" in the Pwned Passwords download format.
    const sha = createHash('sha1').update('password1234567').digest('hex').toUpperCase();
    await writeFile(file, `${PASSPHRASE}\r\n${sha}:3\r\n`);
    const strict = await createPasswordPolicy({ minLength: 15, blocklistFile: file });
    expectRule(strict.check(PASSPHRASE, alice), 'breached');
    expectRule(strict.check('password1234567', alice), 'breached');
    expect(strict.check('mango velvet cipher orbit quietly', alice)).toEqual({ ok: true });
  });

  it('contains_personal_info: the email local part, the display name, or the email', () => {
    const jon = { email: 'jonathanwilkins@example.com', displayName: 'Jon' };
    expectRule(policy.check('jonathanwilkins', jon), 'contains_personal_info');
    expectRule(policy.check('JonathanWilkins', jon), 'contains_personal_info');
    expectRule(policy.check('my name is jonathanwilkins ok', jon), 'contains_personal_info');
    expectRule(policy.check('jonathanwilkins@example.com', jon), 'contains_personal_info');

    expectRule(policy.check('alice walker rides at dawn', alice), 'contains_personal_info');
    expectRule(policy.check('AliceWalker rides at dawn', alice), 'contains_personal_info');
    expectRule(policy.check('hi alice.walker, ride on', alice), 'contains_personal_info');

    // A short local part is not matched on its own, but the whole email still is.
    const jo = { email: 'jo@examples.com', displayName: 'J' };
    expectRule(policy.check('JO@Examples.com', jo), 'contains_personal_info');
    expect(policy.check(`jo ${PASSPHRASE}`, jo)).toEqual({ ok: true });
  });

  it('too_guessable: a low zxcvbn score, with its feedback as suggestions', () => {
    const verdict = policy.check('qwertyuiopasdfgh', alice);
    expectRule(verdict, 'too_guessable');
    expectRule(policy.check('aaaaaaaaaaaaaaaa', alice), 'too_guessable');
    expectRule(policy.check('P@$$w0rd1234567', alice), 'too_guessable');
  });

  it('checks rules in order: length before personal info before breached', () => {
    const shorty = { email: 'passwordpassword@example.com', displayName: 'P' };
    expectRule(policy.check('password', shorty), 'too_short');
    expectRule(policy.check('passwordpassword', shorty), 'contains_personal_info');
  });

  // zxcvbn-ts takes seconds on long adversarial inputs, so only a 64-code-point prefix is scored
  // (its speed is measured in bench, not asserted here). These prove the prefix rule's verdicts.
  it('scores long adversarial inputs by their prefix: repeated patterns stay weak', () => {
    const rep = (s: string) => s.repeat(Math.ceil(256 / s.length)).slice(0, 256);
    for (const input of [rep('P@$$w0rd'), rep('1qaz2wsx3edc4rfv'), rep('1234567890'), rep('!1|')]) {
      const verdict = policy.check(input, alice);
      expect(verdict.ok).toBe(false);
    }
    expect(policy.check(strongPhrase(256), alice).ok).toBe(true);
  });

  it('rejects a nonsensical minimum at construction', async () => {
    await expect(createPasswordPolicy({ minLength: 0 })).rejects.toThrow(TypeError);
    await expect(createPasswordPolicy({ minLength: 300 })).rejects.toThrow(TypeError);
  });
});
