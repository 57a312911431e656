/**
 * The operator's password blocklist (PASSWORD_BLOCKLIST_FILE). Each line is a password or a
 * SHA-1 hex digest as in the Pwned Passwords downloads (`HEX` or `HEX:COUNT`). The file is
 * streamed, and only the first 8 bytes of each SHA-1 are kept, in an open-addressing table over
 * typed arrays (16 to 32 bytes per entry), O(1) lookups. A 64-bit prefix makes a false match
 * between distinct passwords astronomically unlikely (~n / 2^64).
 */
import { hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';

export interface Blocklist {
  /** True when the SHA-1 of the NFKC form of `password` is listed. */
  has(password: string): boolean;
  /** Distinct entries loaded. */
  readonly size: number;
}

const HEX_LINE = /^([0-9A-Fa-f]{40})(?::\d*)?\s*$/;
const INITIAL_CAPACITY = 1 << 10;

/**
 * An open-addressing set of 64-bit values stored as two 32-bit halves, with linear probing.
 * (0, 0) marks an empty slot; the one real value that is all zeros is kept in a flag.
 */
class PrefixTable {
  private hi = new Uint32Array(INITIAL_CAPACITY);
  private lo = new Uint32Array(INITIAL_CAPACITY);
  private hasZero = false;
  size = 0;

  add(hi: number, lo: number): void {
    if (hi === 0 && lo === 0) {
      if (!this.hasZero) this.size++;
      this.hasZero = true;
      return;
    }
    // Keep capacity >= 2n so probe runs stay short.
    if ((this.size + 1) * 2 > this.hi.length) this.grow();
    if (this.insert(hi, lo)) this.size++;
  }

  has(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) return this.hasZero;
    const mask = this.hi.length - 1;
    // SHA-1 bits are uniform: the low word indexes the table directly.
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      const h = this.hi[i];
      const l = this.lo[i];
      if (h === hi && l === lo) return true;
      if (h === 0 && l === 0) return false;
    }
  }

  private insert(hi: number, lo: number): boolean {
    const mask = this.hi.length - 1;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      const h = this.hi[i];
      const l = this.lo[i];
      if (h === hi && l === lo) return false;
      if (h === 0 && l === 0) {
        this.hi[i] = hi;
        this.lo[i] = lo;
        return true;
      }
    }
  }

  private grow(): void {
    const { hi, lo } = this;
    const capacity = hi.length * 2;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    for (let i = 0; i < hi.length; i++) {
      const h = hi[i] as number;
      const l = lo[i] as number;
      if (h !== 0 || l !== 0) this.insert(h, l);
    }
  }
}

function sha1(text: string): Buffer {
  // One-shot `crypto.hash` is markedly cheaper than `createHash` for short inputs.
  return hash('sha1', text.normalize('NFKC'), 'buffer');
}

/** Loads the blocklist file; a file that cannot be read fails at boot, naming the setting. */
export async function loadBlocklist(path: string): Promise<Blocklist> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new TypeError(`PASSWORD_BLOCKLIST_FILE: cannot read ${path}`, { cause });
  }
  const table = new PrefixTable();
  const lines = createInterface({
    input: handle.createReadStream({ encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  try {
    let first = true;
    for await (let line of lines) {
      if (first) {
        line = line.replace(/^\uFEFF/, '');
        first = false;
      }
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') continue;
      const hex = HEX_LINE.exec(line)?.[1];
      if (hex) {
        table.add(Number.parseInt(hex.slice(0, 8), 16), Number.parseInt(hex.slice(8, 16), 16));
      } else {
        const digest = sha1(line);
        table.add(digest.readUInt32BE(0), digest.readUInt32BE(4));
      }
    }
  } finally {
    lines.close();
    await handle.close();
  }

  return {
    has(password) {
      const digest = sha1(password);
      return table.has(digest.readUInt32BE(0), digest.readUInt32BE(4));
    },
    get size() {
      return table.size;
    },
  };
}
