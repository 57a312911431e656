/**
 * Password policy without composition rules (NIST SP 800-63B-4, OWASP ASVS 5.0 V6.2): a length
 * window counted in code points, no personal information, not a common or breached password,
 * and a zxcvbn-ts score of at least 3. A rejection names the rule and says how to fix it.
 */
import { createRequire } from 'node:module';
import type { FeedbackType, ZxcvbnFactory } from '@zxcvbn-ts/core';
import { type Blocklist, loadBlocklist } from './blocklist.js';

export type WeakPasswordRule =
  | 'too_short'
  | 'too_long'
  | 'breached'
  | 'too_guessable'
  | 'contains_personal_info';

export type PasswordVerdict =
  | { ok: true }
  | { ok: false; rule: WeakPasswordRule; suggestions: string[] };

export interface PasswordPolicy {
  /** Judges a password (raw or normalized: it is NFKC-normalized here) for this account. */
  check(password: string, context: { email: string; displayName: string }): PasswordVerdict;
}

export const MAX_PASSWORD_CODE_POINTS = 256;

/** The minimum zxcvbn score accepted (0–4): 3 is "safely unguessable" (>= 10^8 guesses). */
const MIN_SCORE = 3;
/**
 * zxcvbn-ts's matching grows superlinearly with length (seconds for a 256-character l33t or
 * keyboard pattern), and it runs on the event loop. Only this prefix is scored: guessing a
 * password means guessing its prefix too, so a strong prefix is enough and a weak one is
 * rejected, which errs on the strict side.
 */
const SCORED_CODE_POINTS = 64;
/**
 * zxcvbn-ts matches up to this many de-l33ted variants of the input against every dictionary.
 * Its default (100) costs about 10x more CPU for almost no gain: on 400 l33t-spelled common
 * passwords with suffixes it rejected 11 against 6 here, all of them 16 characters or more.
 */
const L33T_MAX_SUBSTITUTIONS = 4;
/** NFKC composes at most a few code points into one; anything this long is too long anyway. */
const MAX_RAW_UTF16_UNITS = MAX_PASSWORD_CODE_POINTS * 16;
/** Personal strings shorter than this are not matched (they would reject too much). */
const MIN_PERSONAL_LENGTH = 3;

const PASSPHRASE_TIP = 'A few unrelated words make a long password that is easy to remember.';

/** NFKC, the form passwords are checked and hashed in (so look-alike forms are one password). */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Length in Unicode code points, not UTF-16 units (an emoji counts once). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Whether a password is over the maximum (256 code points after NFKC), decided without costly
 * work: anything over 16 UTF-16 units per code point is too long before it is even normalized.
 */
export function isTooLongPassword(raw: string): boolean {
  if (raw.length > MAX_RAW_UTF16_UNITS) return true;
  // NFKC may expand (one ligature becomes up to 18 code points): count after it.
  return codePointLength(normalizePassword(raw)) > MAX_PASSWORD_CODE_POINTS;
}

export const TOO_LONG_SUGGESTION = `Use at most ${MAX_PASSWORD_CODE_POINTS} characters.`;

function firstCodePoints(s: string, count: number): string {
  let end = 0;
  let n = 0;
  for (const ch of s) {
    if (n === count) break;
    end += ch.length;
    n++;
  }
  return s.slice(0, end);
}

/** Lower-cased personal strings the password must not contain, and hints for zxcvbn. */
function personalInfo(email: string, displayName: string) {
  const mail = normalizePassword(email).trim().toLowerCase();
  const at = mail.lastIndexOf('@');
  const local = at === -1 ? mail : mail.slice(0, at);
  const name = normalizePassword(displayName).trim().toLowerCase();
  const candidates = [local, local.split('+')[0] ?? '', name, name.replace(/\s+/g, '')];
  const forbidden = candidates.filter((s) => codePointLength(s) >= MIN_PERSONAL_LENGTH);
  const words = [...local.split(/[^\p{L}\p{N}]+/u), ...name.split(/[^\p{L}\p{N}]+/u)].filter(
    (s) => codePointLength(s) >= MIN_PERSONAL_LENGTH,
  );
  return { mail, forbidden, userInputs: [...new Set([...forbidden, ...words])] };
}

function zxcvbnSuggestions(feedback: FeedbackType): string[] {
  const out = feedback.warning
    ? [feedback.warning, ...feedback.suggestions]
    : [...feedback.suggestions];
  if (out.length === 0)
    out.push('Add more words or characters that are not a common phrase, pattern or name.');
  out.push(PASSPHRASE_TIP);
  return out;
}

/**
 * The common-password set and one configured zxcvbn instance (no global zxcvbn options). The
 * packages are CommonJS and loaded synchronously, so `check` stays synchronous.
 */
function buildDictionaries() {
  const require = createRequire(import.meta.url);
  const { ZxcvbnFactory: Factory } = require('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
  const zxcvbnCommon =
    require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
  const zxcvbnEn = require('@zxcvbn-ts/language-en') as typeof import('@zxcvbn-ts/language-en');
  const common = new Set(
    zxcvbnCommon.dictionary['passwords-common'].map((p) => normalizePassword(p).toLowerCase()),
  );
  const zxcvbn = new Factory({
    dictionary: { ...zxcvbnCommon.dictionary, ...zxcvbnEn.dictionary },
    graphs: zxcvbnCommon.adjacencyGraphs,
    translations: zxcvbnEn.translations,
    l33tMaxSubstitutions: L33T_MAX_SUBSTITUTIONS,
    // Truncation is ours (by code points); this only has to let the prefix through whole.
    maxLength: SCORED_CODE_POINTS * 2,
  });
  return { common, zxcvbn };
}

/**
 * Builds the policy: the blocklist at once, the dictionaries and the zxcvbn instance on the first
 * check that reaches them.
 */
export async function createPasswordPolicy(options: {
  minLength: number;
  blocklistFile?: string | undefined;
}): Promise<PasswordPolicy> {
  const { minLength } = options;
  if (!Number.isInteger(minLength) || minLength < 1 || minLength > MAX_PASSWORD_CODE_POINTS)
    throw new TypeError(`password minLength must be an integer in 1..${MAX_PASSWORD_CODE_POINTS}`);

  const blocklist: Blocklist | undefined = options.blocklistFile
    ? await loadBlocklist(options.blocklistFile)
    : undefined;
  // Built on the first check that needs them, not at boot (issue 17): ~24 MB of V8 heap and
  // ~1 s of start on a loaded host that most instances' traffic (logins, token checks) never uses.
  let dictionaries: { common: Set<string>; zxcvbn: ZxcvbnFactory } | undefined;
  const loadDictionaries = () => {
    dictionaries ??= buildDictionaries();
    return dictionaries;
  };

  const reject = (rule: WeakPasswordRule, suggestions: string[]): PasswordVerdict => ({
    ok: false,
    rule,
    suggestions,
  });

  return {
    check(raw, context) {
      // Length first, before any costly work; a long password is refused, never truncated.
      if (raw.length > MAX_RAW_UTF16_UNITS)
        return reject('too_long', [`Use at most ${MAX_PASSWORD_CODE_POINTS} characters.`]);
      const password = normalizePassword(raw);
      const length = codePointLength(password);
      if (length < minLength)
        return reject('too_short', [`Use at least ${minLength} characters.`, PASSPHRASE_TIP]);
      if (length > MAX_PASSWORD_CODE_POINTS)
        return reject('too_long', [`Use at most ${MAX_PASSWORD_CODE_POINTS} characters.`]);

      const lower = password.toLowerCase();
      const personal = personalInfo(context.email, context.displayName);
      if (lower === personal.mail || personal.forbidden.some((s) => lower.includes(s)))
        return reject('contains_personal_info', [
          'Do not use your email address or your name in your password.',
          PASSPHRASE_TIP,
        ]);

      const { common, zxcvbn } = loadDictionaries();
      if (common.has(lower) || blocklist?.has(password))
        return reject('breached', [
          'This password is in a list of common or leaked passwords; choose a different one.',
          PASSPHRASE_TIP,
        ]);

      const result = zxcvbn.check(
        firstCodePoints(password, SCORED_CODE_POINTS),
        personal.userInputs,
      );
      if (result.score < MIN_SCORE)
        return reject('too_guessable', zxcvbnSuggestions(result.feedback));

      return { ok: true };
    },
  };
}
