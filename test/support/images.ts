/** Test images: real ones made by sharp, and hand-made PNGs whose header lies. */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

export function solidImage(
  width: number,
  height: number,
  format: 'png' | 'jpeg' | 'webp' = 'png',
): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } },
  })
    .toFormat(format)
    .toBuffer();
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * A decompression bomb: a grey PNG of `width`×`height` whose pixel data is a few rows of zeros
 * compressed at level 9 (a real bomb's rows would all be there; the header is what must stop it).
 */
export function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = Buffer.alloc((width + 1) * 16); // filter byte + pixels, 16 rows
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid PNG with HTML in a text chunk and a script appended after IEND. */
export async function polyglotPng(): Promise<Buffer> {
  const png = await solidImage(8, 8, 'png');
  const iend = png.length - 12;
  const script = '<html><script>alert(document.domain)</script></html>';
  return Buffer.concat([
    png.subarray(0, iend),
    chunk('tEXt', Buffer.from(`Comment\0${script}`, 'latin1')),
    png.subarray(iend),
    Buffer.from(script),
  ]);
}

/** A valid PNG carrying `text` in a tEXt chunk under `keyword` (metadata a re-encode must drop). */
export async function pngWithText(keyword: string, text: string): Promise<Buffer> {
  const png = await solidImage(8, 8, 'png');
  const iend = png.length - 12;
  return Buffer.concat([
    png.subarray(0, iend),
    chunk('tEXt', Buffer.from(`${keyword}\0${text}`, 'latin1')),
    png.subarray(iend),
  ]);
}
