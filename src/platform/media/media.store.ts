/**
 * Where re-encoded images live: `DATA_DIR/media/<random>.webp`. The name is 256 random bits; the
 * client's filename never reaches the filesystem, so there is nothing to traverse or overwrite.
 */
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomToken } from '../crypto.js';

/** A media name as served under `/media/`: only names this store can have made. */
export const MEDIA_NAME = /^[A-Za-z0-9_-]{43}\.webp$/;
export const MEDIA_PREFIX = '/media/';

export interface MediaStore {
  /** Stores WebP bytes under a new random name; returns the public path (`/media/<name>`). */
  save(webp: Buffer): Promise<string>;
  /** The bytes of a stored image, or undefined (unknown or malformed name). */
  read(name: string): Promise<Buffer | undefined>;
  /** Removes an image by its public path; unknown paths are ignored. */
  remove(path: string | null): Promise<void>;
}

export function createMediaStore(dataDir: string): MediaStore {
  const dir = join(dataDir, 'media');
  let ready: Promise<unknown> | undefined;
  return {
    async save(webp) {
      ready ??= mkdir(dir, { recursive: true, mode: 0o700 });
      await ready;
      const name = `${randomToken()}.webp`;
      // 'wx': never overwrite (a collision of 256 random bits would be a bug, not a race).
      await writeFile(join(dir, name), webp, { flag: 'wx', mode: 0o600 });
      return `${MEDIA_PREFIX}${name}`;
    },
    async read(name) {
      if (!MEDIA_NAME.test(name)) return undefined;
      try {
        return await readFile(join(dir, name));
      } catch {
        return undefined;
      }
    },
    async remove(path) {
      const name = path?.startsWith(MEDIA_PREFIX) ? path.slice(MEDIA_PREFIX.length) : '';
      if (!MEDIA_NAME.test(name)) return;
      await unlink(join(dir, name)).catch(() => {});
    },
  };
}
