/**
 * Recovery codes: 10 per account, 60 bits each (12 base32 characters, shown in three groups of four, e.g. k7qa-m2zd-p4wt),
 * shown once and stored as HMAC-SHA256 under a key derived from the master key, so a database
 * dump alone cannot be brute-forced offline.
 */
import { randomBytes } from 'node:crypto';
import { hmacBase64url } from '../../platform/crypto.js';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export function newRecoveryCode(): string {
  const bytes = randomBytes(12);
  let out = '';
  // 12 symbols of 5 bits each = 60 bits; the mask keeps each symbol uniform.
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8, 12)}`;
}

/** Accepts the code with or without dashes, in any case. */
export function normalizeRecoveryCode(input: string): string | null {
  const compact = input.toLowerCase().replace(/[\s-]/g, '');
  if (!/^[a-z2-7]{12}$/.test(compact)) return null;
  return `${compact.slice(0, 4)}-${compact.slice(4, 8)}-${compact.slice(8, 12)}`;
}

export function hashRecoveryCode(key: Buffer, code: string): string {
  return hmacBase64url(key, `recovery:${code}`);
}
