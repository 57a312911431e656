/**
 * The repository documents its own configuration: `.env.example` names every variable config.ts
 * reads (and how to give each secret as a file), so a new setting cannot land undocumented.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SECRET_SETTINGS, SETTING_NAMES } from '../src/config.js';

const example = readFileSync(join(import.meta.dirname, '..', '.env.example'), 'utf8');
/** `NAME=` at the start of a line, set or commented out. */
const named = new Set(
  example.split('\n').flatMap((line) => {
    const m = /^(?:#\s*(?:\[secret\]\s*)?)?([A-Z][A-Z0-9_<>]*)=/.exec(line);
    return m?.[1] ? [m[1]] : [];
  }),
);

describe('.env.example', () => {
  it('lists config.ts settings (the list is read from the schema)', () => {
    expect(SETTING_NAMES.length).toBeGreaterThan(40);
    expect(SETTING_NAMES).toContain('DATABASE_URL');
  });

  it.each(SETTING_NAMES)('names %s', (name) => {
    expect(named.has(name)).toBe(true);
  });

  it.each(SECRET_SETTINGS)('marks %s as a secret that may come from a file', (name) => {
    // The variable's line and the comment block above it, up to the previous blank line.
    const lines = example.split('\n');
    let at = lines.findIndex((l) => new RegExp(`^#? ?${name}=`).test(l));
    expect(at).toBeGreaterThan(0);
    let block = '';
    while (at >= 0 && lines[at]?.startsWith('#')) block += lines[at--];
    expect(block).toMatch(/\[secret\]/);
  });

  it('names the OAuth provider variables config.ts reads by pattern', () => {
    for (const suffix of ['ISSUER', 'CLIENT_ID', 'CLIENT_SECRET'])
      expect(named.has(`OAUTH_<NAME>_${suffix}`)).toBe(true);
  });

  it('sets no secret to a value', () => {
    for (const name of SECRET_SETTINGS) expect(example).not.toMatch(new RegExp(`^${name}=.`, 'm'));
  });
});
