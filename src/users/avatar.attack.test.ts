/**
 * Hostile uploads against PUT /users/me/avatar (issue 6): the type is decided by the bytes, the
 * size and dimensions are capped before decoding, nothing the client names reaches the
 * filesystem, and what is served back can never run as a page.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createActor } from '../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../test/support/app.js';
import { bombPng, pngWithText, polyglotPng, solidImage } from '../../test/support/images.js';
import { SETUP_TIMEOUT_MS } from '../../test/support/mfa.js';
import { imageUpload, multipart } from '../../test/support/multipart.js';

let ctx: TestContext;
let user: Actor;

beforeAll(async () => {
  // A data directory of its own, so nothing this file's uploads might write lands elsewhere.
  ctx = await createTestApp({ env: { DATA_DIR: mkdtempSync(join(tmpdir(), 'bastion-avatar-')) } });
  user = await createActor(ctx.app, ctx.database.db);
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  if (ctx) rmSync(ctx.config.dataDir, { recursive: true, force: true });
});

function put(body: { payload: Buffer; headers: Record<string, string> }) {
  return ctx.app.inject({
    method: 'PUT',
    url: '/users/me/avatar',
    headers: { ...user.headers, ...body.headers },
    payload: body.payload,
  });
}

/** The names of every stored image (this file's database holds only this file's uploads). */
async function mediaRows(): Promise<string[]> {
  const rows = await ctx.database.db.selectFrom('media').select('name').orderBy('name').execute();
  return rows.map((r) => r.name);
}

function expectRefused(
  res: { statusCode: number; json(): { code: string } },
  status: number,
  code: string,
) {
  expect(res.statusCode).toBe(status);
  expect(res.json().code).toBe(code);
}

describe('the type is decided by the bytes', () => {
  it('HTML named avatar.png and sent as image/png: 415', async () => {
    const html = Buffer.from('<!doctype html><script>alert(1)</script>');
    expectRefused(
      await put(imageUpload(html, 'avatar.png', 'image/png')),
      415,
      'unsupported_media_type',
    );
  });

  it('SVG (script-capable), GIF and PDF: 415', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>');
    const gif = await import('sharp').then((s) =>
      s
        .default({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
        .gif()
        .toBuffer(),
    );
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF');
    for (const bytes of [svg, gif, pdf]) {
      expectRefused(
        await put(imageUpload(bytes, 'a.png', 'image/png')),
        415,
        'unsupported_media_type',
      );
    }
  });

  it('a PNG signature followed by garbage: 422 invalid_image, nothing stored', async () => {
    const before = await mediaRows();
    const broken = Buffer.concat([
      (await solidImage(8, 8)).subarray(0, 40),
      Buffer.alloc(64, 0x41),
    ]);
    expectRefused(await put(imageUpload(broken)), 422, 'invalid_image');
    expect(await mediaRows()).toEqual(before);
  });

  it('a JSON body or a form without a file: 415 / 400', async () => {
    const json = await ctx.app.inject({
      method: 'PUT',
      url: '/users/me/avatar',
      headers: user.headers,
      payload: { file: 'aGVsbG8=' },
    });
    expectRefused(json, 415, 'unsupported_media_type');
    const wrongField = multipart([
      { name: 'avatar', filename: 'a.png', data: await solidImage(4, 4) },
    ]);
    expectRefused(await put(wrongField), 400, 'validation_failed');
  });
});

describe('a polyglot cannot survive', () => {
  it('a valid PNG carrying HTML in a chunk and a script after IEND is served as clean WebP', async () => {
    const res = await put(imageUpload(await polyglotPng(), 'x.html', 'text/html'));
    expect(res.statusCode, res.body).toBe(200);
    const served = await ctx.app.inject({ url: res.json().avatarUrl });
    expect(served.headers['content-type']).toBe('image/webp');
    expect(served.headers['content-security-policy']).toBe('sandbox');
    expect(served.headers['x-content-type-options']).toBe('nosniff');
    const text = served.rawPayload.toString('latin1');
    expect(text).not.toContain('<script');
    expect(text).not.toContain('<html');
    expect(text.startsWith('RIFF')).toBe(true);
  });
});

describe('metadata does not survive (issue 6)', () => {
  const XMP =
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:rights>MARK-xmp</dc:rights>' +
    '</rdf:Description></rdf:RDF></x:xmpmeta>';

  async function servedFor(upload: Buffer): Promise<Buffer> {
    const res = await put(imageUpload(upload));
    expect(res.statusCode, res.body).toBe(200);
    const served = await ctx.app.inject({ url: res.json().avatarUrl });
    expect(served.statusCode).toBe(200);
    return served.rawPayload;
  }

  it('a JPEG with EXIF (Copyright), an ICC profile and XMP is served with none of them', async () => {
    const jpeg = await sharp({
      create: { width: 16, height: 16, channels: 3, background: '#c82' },
    })
      .jpeg()
      .withExif({ IFD0: { Copyright: 'MARK-xyz' } })
      .withIccProfile('p3')
      .withXmp(XMP)
      .toBuffer();
    const sent = await sharp(jpeg).metadata();
    expect([!!sent.exif, !!sent.icc, !!sent.xmp]).toEqual([true, true, true]);
    expect(jpeg.includes('MARK-xyz')).toBe(true);

    const served = await servedFor(jpeg);
    const meta = await sharp(served).metadata();
    expect(meta.format).toBe('webp');
    expect(meta.exif).toBeUndefined();
    expect(meta.icc).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(served.includes('MARK-xyz')).toBe(false);
    expect(served.includes('MARK-xmp')).toBe(false);
  });

  it('a PNG with a tEXt chunk is served without its text', async () => {
    const png = await pngWithText('Copyright', 'MARK-png');
    expect(png.includes('MARK-png')).toBe(true);
    const served = await servedFor(png);
    const meta = await sharp(served).metadata();
    expect([meta.exif, meta.icc, meta.xmp]).toEqual([undefined, undefined, undefined]);
    expect(served.includes('MARK-png')).toBe(false);
  });
});

describe('size and dimension limits', () => {
  it('a decompression bomb (100000×100000 declared) is refused from its header: 422', async () => {
    expectRefused(await put(imageUpload(bombPng(100_000, 100_000))), 422, 'image_too_large');
  });

  it('over 4096 on a side (4097×10) or over 25 megapixels: 422', async () => {
    expectRefused(await put(imageUpload(bombPng(4097, 10))), 422, 'image_too_large');
    expectRefused(await put(imageUpload(bombPng(10, 4097))), 422, 'image_too_large');
  });

  it('a file over 5 MiB: 413, cut off while streaming', async () => {
    const big = Buffer.concat([await solidImage(8, 8), Buffer.alloc(5 * 1024 * 1024 + 10)]);
    expectRefused(await put(imageUpload(big)), 413, 'payload_too_large');
  });

  it('two files, or an extra text field: 413', async () => {
    const png = await solidImage(4, 4);
    const two = multipart([
      { name: 'file', filename: 'a.png', data: png },
      { name: 'file', filename: 'b.png', data: png },
    ]);
    expect((await put(two)).statusCode).toBe(413);
    const fileThenField = multipart([
      { name: 'file', filename: 'a.png', data: png },
      { name: 'role', data: 'admin' },
    ]);
    expect([400, 413]).toContain((await put(fileThenField)).statusCode);
    const withField = multipart([
      { name: 'role', data: 'admin' },
      { name: 'file', filename: 'a.png', data: png },
    ]);
    expect([400, 413]).toContain((await put(withField)).statusCode);
  });
});

describe('nothing the client names reaches the filesystem', () => {
  it('a path-traversal filename is ignored: the image is stored under a random name', async () => {
    const target = join(ctx.config.dataDir, 'pwned.webp');
    const names = [
      '../pwned.webp',
      '../../../../tmp/pwned.png',
      '..\\..\\pwned.png',
      '/etc/passwd',
    ];
    let current = '';
    for (const filename of names) {
      const res = await put(imageUpload(await solidImage(4, 4), filename));
      expect(res.statusCode, res.body).toBe(200);
      current = res.json().avatarUrl;
      expect(current).toMatch(/^\/media\/[A-Za-z0-9_-]{43}\.webp$/);
    }
    expect(existsSync(target)).toBe(false);
    expect(existsSync('/tmp/pwned.png')).toBe(false);
    // Each upload replaced the one before and removed its bytes: one image is left, the current.
    expect(await mediaRows()).toEqual([current.slice('/media/'.length)]);
  });

  it('a filename that breaks its header line (CRLF, quotes, NUL) cannot inject anything', async () => {
    for (const filename of ['a\r\nX-Injected: 1.png', 'a".png; name="role', 'a\u0000.png']) {
      const res = await put(imageUpload(await solidImage(4, 4), filename));
      expect([200, 400], `${JSON.stringify(filename)}: ${res.body}`).toContain(res.statusCode);
      expect(res.headers['x-injected']).toBeUndefined();
      if (res.statusCode === 200) {
        expect(res.json().avatarUrl).toMatch(/^\/media\/[A-Za-z0-9_-]{43}\.webp$/);
      }
    }
  });

  it('/media/ serves only names the store makes: traversal and other extensions are 404/400', async () => {
    for (const url of [
      '/media/..%2F..%2Fetc%2Fpasswd',
      '/media/%2e%2e%2fconfig.webp',
      `/media/${'a'.repeat(43)}.png`,
      `/media/${'a'.repeat(43)}.webp`,
    ]) {
      const res = await ctx.app.inject({ url });
      expect([400, 404]).toContain(res.statusCode);
    }
  });
});
