import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBlocklist } from './blocklist.js';

const sha1Hex = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex').toUpperCase();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bastion-blocklist-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content, 'utf8');
  return path;
}

describe('password blocklist file', () => {
  it('reads plain passwords and SHA-1 hex lines, with or without counts, CRLF or LF', async () => {
    const lines = [
      'plain password one', // plain, LF
      `${sha1Hex('hex without count')}`,
      `${sha1Hex('hex with count')}:12345`,
      'plain with crlf',
      `${sha1Hex('hex with count and crlf')}:7`,
      '',
      `${sha1Hex('lower-case hex').toLowerCase()}`,
      'ｆｕｌｌｗｉｄｔｈ ｐａｓｓｗｏｒｄ', // listed in a compatibility form
    ];
    const content = `\uFEFF${lines[0]}\n${lines[1]}\n${lines[2]}\n${lines[3]}\r\n${lines[4]}\r\n\r\n${lines[6]}\n${lines[7]}`;
    const list = await loadBlocklist(await fileWith('mixed.txt', content));

    expect(list.size).toBe(7);
    for (const listed of [
      'plain password one',
      'hex without count',
      'hex with count',
      'plain with crlf',
      'hex with count and crlf',
      'lower-case hex',
      'fullwidth password',
      'ｆｕｌｌｗｉｄｔｈ ｐａｓｓｗｏｒｄ',
    ]) {
      expect(list.has(listed), listed).toBe(true);
    }
    for (const absent of [
      'Plain password one', // passwords are case-sensitive
      'plain with crlf\r',
      '12345',
      sha1Hex('hex without count'), // the digest itself is not a listed password
      '',
    ]) {
      expect(list.has(absent), absent).toBe(false);
    }
  });

  it('keeps a password that looks like a count or has spaces intact', async () => {
    const list = await loadBlocklist(await fileWith('spaces.txt', ' leading space\ntrailing \n'));
    expect(list.has(' leading space')).toBe(true);
    expect(list.has('leading space')).toBe(false);
    expect(list.has('trailing ')).toBe(true);
    expect(list.has('trailing')).toBe(false);
  });

  it('holds a large list, deduplicated (lookup speed: bench/timing.ts)', async () => {
    const n = 50_000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(i % 2 ? `pw-${i}` : `${sha1Hex(`pw-${i}`)}:${i}`);
    lines.push('pw-1', sha1Hex('pw-2')); // duplicates
    const list = await loadBlocklist(await fileWith('large.txt', lines.join('\r\n')));
    expect(list.size).toBe(n);
    for (let i = 0; i < n; i += 997) expect(list.has(`pw-${i}`)).toBe(true);
    for (let i = n; i < n + 1000; i++) expect(list.has(`pw-${i}`)).toBe(false);
  });

  it('an unreadable file fails at boot naming the setting', async () => {
    await expect(loadBlocklist(join(dir, 'missing.txt'))).rejects.toThrow(
      /PASSWORD_BLOCKLIST_FILE/,
    );
  });

  it('an empty file lists nothing', async () => {
    const list = await loadBlocklist(await fileWith('empty.txt', ''));
    expect(list.size).toBe(0);
    expect(list.has('anything at all')).toBe(false);
  });
});
