/**
 * A real SMTP server for tests (smtp-server on 127.0.0.1, plain text: loopback only). Every
 * message is parsed with mailparser and kept, so a test can wait for "the mail to X" and follow
 * its link exactly as a user would.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope recipients (RCPT TO), as the client sent them. */
  to: string[];
  /** The From header's address, e.g. `no-reply@localhost`. */
  from: string;
  subject: string;
  text: string;
  html: string;
  /** The whole message as received, headers included. */
  raw: string;
}

export interface TestSmtp {
  /** `smtp://127.0.0.1:<port>`, for SMTP_URL. */
  readonly url: string;
  readonly messages: ReceivedMail[];
  /**
   * Connection errors the server saw (a client cutting a mail mid-transaction, say). Kept, not
   * thrown: smtp-server emits them on the server, and unheard they would crash the test run.
   */
  readonly errors: Error[];
  /**
   * Resolves with the first mail to `to` (case-insensitive) matching `match` that no earlier
   * call returned; rejects after `timeoutMs` (default 5000).
   */
  waitForMail(
    to: string,
    match?: (m: ReceivedMail) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedMail>;
  close(): Promise<void>;
}

interface Waiter {
  accepts(m: ReceivedMail): boolean;
  resolve(m: ReceivedMail): void;
  reject(err: Error): void;
}

export interface TestSmtpOptions {
  /** Awaited once a message's data has arrived, before it is acknowledged. */
  beforeAck?: () => Promise<void>;
}

/** Starts a recording SMTP server on a free loopback port. */
export async function startTestSmtp(options: TestSmtpOptions = {}): Promise<TestSmtp> {
  const messages: ReceivedMail[] = [];
  const errors: Error[] = [];
  const returned = new Set<ReceivedMail>();
  const waiters = new Set<Waiter>();

  const deliver = (mail: ReceivedMail) => {
    messages.push(mail);
    for (const w of waiters) {
      if (w.accepts(mail)) {
        returned.add(mail);
        w.resolve(mail);
        return;
      }
    }
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // A test's pooled mailer may still hold a connection when the server closes.
    closeTimeout: 500,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('error', (err: Error) => callback(err));
      stream.once('end', () => {
        const raw = Buffer.concat(chunks);
        Promise.resolve(options.beforeAck?.())
          .then(() => simpleParser(raw))
          .then(
            (parsed) => {
              deliver({
                to: session.envelope.rcptTo.map((r) => r.address),
                from: parsed.from?.value[0]?.address ?? '',
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                html: typeof parsed.html === 'string' ? parsed.html : '',
                raw: raw.toString('utf8'),
              });
              // Acknowledged only once recorded, so a resolved send() means the mail is here.
              callback();
            },
            (err: Error) => callback(err),
          );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err: Error) => errors.push(err));
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    errors,
    waitForMail(to, match = () => true, timeoutMs = 5000) {
      const address = to.toLowerCase();
      const accepts = (m: ReceivedMail) =>
        !returned.has(m) && m.to.some((r) => r.toLowerCase() === address) && match(m);
      const found = messages.find(accepts);
      if (found) {
        returned.add(found);
        return Promise.resolve(found);
      }
      return new Promise<ReceivedMail>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = messages.map((m) => `${m.to.join(',')}: ${m.subject}`).join('; ');
          reject(
            new Error(`no mail to ${to} within ${timeoutMs} ms (received: ${seen || 'none'})`),
          );
        }, timeoutMs);
        const waiter: Waiter = {
          accepts,
          resolve(m) {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(m);
          },
          reject(err) {
            clearTimeout(timer);
            waiters.delete(waiter);
            reject(err);
          },
        };
        waiters.add(waiter);
      });
    },
    async close() {
      for (const w of waiters) w.reject(new Error('test SMTP server closed'));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The first link in the mail's text body whose path is `path` (e.g. '/verify-email'). */
export function extractLink(mail: ReceivedMail, path: string): URL {
  for (const candidate of mail.text.match(/https?:\/\/[^\s<>"']+/g) ?? []) {
    const url = new URL(candidate.replace(/[.,;:!?)\]]+$/, ''));
    if (url.pathname === path) return url;
  }
  throw new Error(`no ${path} link in the mail "${mail.subject}"`);
}
