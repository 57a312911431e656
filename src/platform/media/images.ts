/**
 * The image pipeline for every upload (avatars, product images): the type is decided by the
 * bytes (`file-type`), never by the client's name or Content-Type; dimensions are read from the
 * header and capped before any pixel is decoded (a decompression bomb is refused from its
 * header, without taking a place in the decode queue); the image is decoded and re-encoded to
 * WebP by `sharp` on the bounded decode queue, which drops EXIF/XMP/ICC metadata and anything
 * appended to the file (a polyglot's script does not survive a re-encode).
 */
import { type DecodeQueue, loadSharp } from './decode-queue.js';
import { uploadError } from './uploads.errors.js';

export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
export const MAX_IMAGE_SIDE = 4096;
export const MAX_IMAGE_PIXELS = 25_000_000;
const ACCEPTED = new Set(['image/jpeg', 'image/png', 'image/webp']);

/**
 * Checks and re-encodes an uploaded image; returns the WebP bytes. Only the decode runs on
 * `decodes` (503 `overloaded` when it is full); the header checks before it are cheap.
 */
export async function toSafeWebp(input: Buffer, decodes: DecodeQueue): Promise<Buffer> {
  // file-type is imported on the first upload: the server starts without it (issue 17).
  const { fileTypeFromBuffer } = await import('file-type');
  const type = await fileTypeFromBuffer(input);
  if (!type || !ACCEPTED.has(type.mime)) throw uploadError('unsupported_media_type');

  // metadata() reads the header only (no pixel is decoded), so it runs without sharp's pixel
  // limit and the explicit check below gives the contract's 422; the decode keeps
  // `limitInputPixels` as a second guard.
  // `failOn: 'error'` refuses truncated or corrupt data.
  const sharp = await loadSharp();
  const options = { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error', pages: 1 } as const;
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(input, { ...options, limitInputPixels: false }).metadata());
  } catch {
    throw uploadError('invalid_image');
  }
  if (!width || !height) throw uploadError('invalid_image');
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > MAX_IMAGE_PIXELS) {
    throw uploadError('image_too_large');
  }
  return decodes.run(async () => {
    try {
      // rotate() applies the EXIF orientation before the metadata is dropped.
      return await sharp(input, options).rotate().webp({ quality: 82 }).toBuffer();
    } catch {
      throw uploadError('invalid_image');
    }
  });
}
