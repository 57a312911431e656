/**
 * Email addresses: trimmed, Unicode NFC, domain lower-cased; uniqueness and look-up use a fully
 * lower-cased key, so case and composed/decomposed variants of one address are one account.
 */
const ADDRESS =
  /^[^\s@<>()[\],;:"\\]{1,64}@[^\s@<>()[\],;:"\\]+\.[^\s@<>()[\],;:"\\.][^\s@<>()[\],;:"\\]*$/u;
// Control and bidi-override characters have no place in an address and can spoof one in a UI.
const FORBIDDEN = /[\p{Cc}\p{Cf}]/u;

export interface NormalizedEmail {
  /** As shown back to the user. */
  readonly email: string;
  /** For uniqueness and look-up. */
  readonly key: string;
  readonly localPart: string;
}

export function normalizeEmail(raw: string): NormalizedEmail | null {
  const trimmed = raw.trim().normalize('NFC');
  if (trimmed.length > 254 || FORBIDDEN.test(trimmed) || !ADDRESS.test(trimmed)) return null;
  const at = trimmed.lastIndexOf('@');
  const localPart = trimmed.slice(0, at);
  const email = `${localPart}@${trimmed.slice(at + 1).toLowerCase()}`;
  return { email, key: email.toLowerCase(), localPart };
}

/** Display names: trimmed, NFC, no control or format characters. */
export function normalizeDisplayName(raw: string): string | null {
  const name = raw.trim().normalize('NFC');
  if (name.length < 1 || name.length > 100 || FORBIDDEN.test(name)) return null;
  return name;
}
