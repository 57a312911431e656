/**
 * A real lifecycle-webhook receiver for tests (issue 19), on 127.0.0.1: it checks every request
 * with the verification snippet the README gives receivers (loaded from README.md itself, so the
 * documented code is the tested code), de-duplicates by event id as the README tells receivers to,
 * and can be down (its port closed), failing (503) or holding requests open without answering.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const WEBHOOK_SECRET = 'lifecycle-test-secret-0123456789';

export type VerifyWebhook = (
  secret: string,
  header: string | undefined,
  rawBody: Buffer,
  toleranceSeconds?: number,
) => boolean;

let verifier: Promise<VerifyWebhook> | undefined;

/** The README's receiver snippet (the js block after `<!-- receiver: verify-lifecycle-webhook -->`). */
export function readmeVerifier(): Promise<VerifyWebhook> {
  verifier ??= (async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const match = readme.match(
      /<!-- receiver: verify-lifecycle-webhook -->\s*```js\n([\s\S]*?)\n\s*```/,
    );
    if (!match?.[1]) throw new Error('README has no receiver verification snippet');
    const code = match[1].replace(/^ {2}/gm, '');
    const file = join(mkdtempSync(join(tmpdir(), 'bastion-receiver-')), 'verify.mjs');
    writeFileSync(file, code);
    const mod = (await import(pathToFileURL(file).href)) as {
      verifyBastionWebhook: VerifyWebhook;
    };
    return mod.verifyBastionWebhook;
  })();
  return verifier;
}

export interface LifecycleEventBody {
  id: string;
  type: string;
  at: string;
  userId: string;
  data: Record<string, unknown>;
}

export interface RawDelivery {
  readonly body: Buffer;
  readonly signature: string | undefined;
  readonly accepted: boolean;
}

export type ReceiverMode = 'ok' | 'fail' | 'hold' | 'redirect';

export interface Receiver {
  readonly url: string;
  /** Every request that arrived (verified or not), in order. */
  readonly raw: RawDelivery[];
  /** Verified events, first copy of each id. */
  readonly events: Map<string, LifecycleEventBody>;
  /** Requests refused by the signature check. */
  rejected: number;
  mode: ReceiverMode;
  /** Requests held open (mode `hold`) and not yet answered. */
  readonly held: ServerResponse[];
  /** Closes the port: the sender sees a refused connection. */
  down(): Promise<void>;
  /** Opens the same port again. */
  up(): Promise<void>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startReceiver(secret = WEBHOOK_SECRET): Promise<Receiver> {
  const verify = await readmeVerifier();
  let server: Server | undefined;
  let port = 0;
  const receiver: Receiver = {
    url: '',
    raw: [],
    events: new Map(),
    rejected: 0,
    mode: 'ok',
    held: [],
    async down() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async up() {
      server = createServer((req, res) => {
        handle(req, res).catch(() => res.destroy());
      });
      await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    },
    async close() {
      for (const res of receiver.held.splice(0)) res.destroy();
      await receiver.down();
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const signature = req.headers['bastion-signature'] as string | undefined;
    const accepted = verify(secret, signature, body);
    receiver.raw.push({ body, signature, accepted });
    if (!accepted) {
      receiver.rejected++;
      res.writeHead(400).end();
      return;
    }
    if (receiver.mode === 'hold') {
      // Received but never acknowledged: the sender must send it again.
      receiver.held.push(res);
      return;
    }
    if (receiver.mode === 'fail') {
      res.writeHead(503).end('receiver body that must never be stored');
      return;
    }
    if (receiver.mode === 'redirect') {
      res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' }).end();
      return;
    }
    const event = JSON.parse(body.toString('utf8')) as LifecycleEventBody;
    // De-duplication by id, as the README tells receivers.
    if (!receiver.events.has(event.id)) receiver.events.set(event.id, event);
    res.writeHead(200).end();
  }

  await receiver.up();
  (receiver as { url: string }).url = `http://127.0.0.1:${port}/hooks/bastion`;
  return receiver;
}

/** Polls `check` until it returns true, at most `timeoutMs`; throws with `what` otherwise. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** How many raw deliveries carried each event id (verified ones only). */
export function rawCounts(receiver: Receiver): Map<string, number> {
  const counts = new Map<string, number>();
  for (const d of receiver.raw) {
    if (!d.accepted) continue;
    const { id } = JSON.parse(d.body.toString('utf8')) as { id: string };
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Fast delivery for tests: short polls, lease and backoff. */
export const FAST_DELIVERY = {
  intervalMs: 50,
  leaseMs: 5_000,
  timeoutMs: 2_000,
  baseDelayMs: 50,
  maxDelayMs: 400,
} as const;

/** `bastion <args>` in a child process (what `npx bastion` runs), with only `env` set. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  stdin: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['bin/bastion.mjs', ...args], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bastion ${args.join(' ')} timed out:\n${stdout}${stderr}`));
    }, 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}
