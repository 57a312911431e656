/**
 * The key-encryption key: KEY_ENCRYPTION_KEY in production; in development a random one is
 * generated once into DATA_DIR (with a warning) so restarts keep working.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';

export interface MasterKeyLog {
  warn(obj: object, msg: string): void;
}

export function loadMasterKey(config: Config, log: MasterKeyLog): Buffer {
  if (config.keyEncryptionKey) return config.keyEncryptionKey;
  const path = join(config.dataDir, 'dev-key-encryption.key');
  try {
    const existing = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (existing.length === 32) return existing;
  } catch {
    // absent: generated below
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(path, key.toString('base64'), { mode: 0o600 });
  log.warn(
    { event: 'dev_key_generated', file: path },
    'KEY_ENCRYPTION_KEY is not set: generated a development key; set it in production',
  );
  return key;
}
