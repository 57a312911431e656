/**
 * Pino options for Fastify's logger. Secrets never reach a log line: known header paths are
 * redacted by pino, and any key that names a secret is censored at any depth by a walk over
 * each logged object (cheap: log objects are small and the walk is bounded).
 */
import pino, { type DestinationStream, type LoggerOptions, stdSerializers } from 'pino';

export const REDACTED = '[redacted]';

/** Keys whose values are secrets wherever they appear. */
const SECRET_KEY =
  /pass(word)?|token|secret|authorization|cookie|^code$|recovery|otp|credential|api[-_]?key|private|signature/i;

const MAX_DEPTH = 8;

/** A request URL without its query string, which may carry a token. */
export function pathOnly(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** SECRET_KEY's verdict per key name: log objects reuse a small set of keys on every line. */
const verdicts = new Map<string, boolean>();
const MAX_VERDICTS = 4096;

function isSecretKey(key: string): boolean {
  let secret = verdicts.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key);
    if (verdicts.size < MAX_VERDICTS) verdicts.set(key, secret);
  }
  return secret;
}

/**
 * True when `object` needs no scrubbing: no secret-named key and no nested value but `req` (left
 * to its serializer). The per-request line `{method, url, ip, status, ms}` is such an object.
 */
function isFlatAndClean(object: Record<string, unknown>): boolean {
  for (const k in object) {
    if (k === 'req') continue;
    const v = object[k];
    if (isSecretKey(k) || (typeof v === 'object' && v !== null)) return false;
  }
  return true;
}

/** Returns a copy of `value` with every secret-named key censored, to `MAX_DEPTH` levels. */
export function scrub(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[depth]';
  if (value instanceof Error) return serializeError(value, depth);
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (Buffer.isBuffer(value)) return '[buffer]';
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretKey(k) ? REDACTED : scrub(v, depth + 1);
  }
  return out;
}

/** Fields of a serialized error that describe it and are never secrets. */
const ERROR_FIELDS = new Set(['type', 'message', 'stack', 'code']);

/**
 * Pino's error serializer copies every enumerable property of an error (a client error's
 * `config.headers.authorization`, say); serializers run after `formatters.log`, so those
 * properties are scrubbed here.
 */
function serializeError(err: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { ...stdSerializers.err(err) };
  for (const [k, v] of Object.entries(out)) {
    if (!ERROR_FIELDS.has(k)) out[k] = SECRET_KEY.test(k) ? REDACTED : scrub(v, depth + 1);
  }
  return out;
}

/** Logger options shared by the server and tests; `stream` lets tests capture lines. */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    // A backstop only: the req/res serializers never emit headers. One path per object, not one
    // per header: pino's redactor parses every path on every line that has a `req` (the five
    // per-header paths cost ~4 µs per request line, about half of the line's whole cost).
    redact: {
      paths: ['req.headers', 'res.headers'],
      censor: REDACTED,
    },
    serializers: {
      // Only what an operator needs; the query string may carry a token, so it is dropped.
      req: (req: { method?: string; url?: string; ip?: string }) => ({
        method: req.method,
        url: pathOnly(String(req.url ?? '')),
        ip: req.ip,
      }),
      err: (err: Error) => serializeError(err),
    },
    formatters: {
      // `req` is left to its serializer, which keeps three safe fields: a scrubbed copy of a
      // request loses the getters (method, url, ip) the serializer reads.
      log: (object) => {
        if (isFlatAndClean(object)) return object;
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(object)) {
          out[k] = k === 'req' ? v : isSecretKey(k) ? REDACTED : scrub(v, 1);
        }
        return out;
      },
    },
  };
}

/** Lines are written in batches of this many bytes, or at the latest after LOG_FLUSH_MS. */
export const LOG_BUFFER_BYTES = 4096;
export const LOG_FLUSH_MS = 250;

/** Destinations still holding lines; each is flushed once more when the process exits. */
const open = new Set<ReturnType<typeof pino.destination>>();
let flushOnExit = false;

/**
 * Where log lines go: stdout unless told, written synchronously (sonic-boom) in batches of about
 * 4 KB, and at least every 250 ms, so a quiet server's lines still show at once. Measured here, a
 * synchronous write costs less per request than pino's asynchronous default (whose writes go
 * through libuv's thread pool, bench/README.md), and batching saves the write call of almost
 * every line. What is buffered is flushed on exit, including after an uncaught exception; only a
 * kill -9 or an abort can lose the last 250 ms. The cost of synchronous writes: a stdout that
 * stops reading stalls the server, so point it at a reader that keeps up (a file, a container
 * runtime, a log shipper), as for any synchronous logger.
 */
export function logDestination(dest: number | string = 1): DestinationStream {
  const stream = pino.destination({
    dest,
    minLength: LOG_BUFFER_BYTES,
    periodicFlush: LOG_FLUSH_MS,
    sync: true,
  });
  open.add(stream);
  stream.once('close', () => open.delete(stream));
  if (!flushOnExit) {
    flushOnExit = true;
    process.once('exit', () => {
      for (const s of open) {
        try {
          s.flushSync();
        } catch {
          // A closed or broken stdout: nothing more can be written anywhere.
        }
      }
    });
  }
  return stream;
}
