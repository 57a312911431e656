/**
 * Outgoing mail: nodemailer over SMTP_URL, or, without one (development), a dev outbox of
 * `.eml` files. The log names the file written, never its links (they carry one-time tokens) nor
 * its recipient (issue 14).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Transporter } from 'nodemailer';

export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface Mailer {
  readonly kind: 'smtp' | 'outbox';
  /** Rejects when the mail cannot be handed over; callers decide whether that matters. */
  send(mail: Mail): Promise<void>;
  close(): Promise<void>;
}

/** The two pino methods the mailer uses, so it takes `app.log` or a test double. */
export interface MailLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface MailerOptions {
  smtpUrl?: string | undefined;
  /** Sender, e.g. `Bastion <no-reply@example.com>` (MAIL_FROM). */
  from: string;
  /** Where the dev outbox writes, normally `DATA_DIR/outbox`; unused with SMTP. */
  outboxDir: string;
  log: MailLog;
  /** Product name signed under every mail (APP_NAME); unset: no signature. */
  appName?: string;
}

// One plain address: no list separators, display names, comments or line breaks, so a value
// that slipped past validation can neither add recipients nor headers.
const SINGLE_ADDRESS = /^[^\s@,;:<>()[\]"\\]+@[^\s@,;:<>()[\]"\\]+$/u;

/** Picks an SMTP relay when one is configured, the dev outbox otherwise. */
export function createMailer(options: MailerOptions): Mailer {
  const mailer = options.smtpUrl
    ? smtpMailer(options.smtpUrl, options.from, options.log)
    : outboxMailer(options.from, options.outboxDir, options.log);
  return drained(options.appName ? signed(mailer, options.appName) : mailer);
}

/**
 * Notices are sent in the background, so a graceful stop may come while one is on the wire:
 * close() lets those finish (bounded by the transport's timeouts and SHUTDOWN_TIMEOUT_MS) before
 * it closes the connections, instead of cutting a mail mid-transaction. Sends after close() reject.
 */
function drained(mailer: Mailer): Mailer {
  const inFlight = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;
  return {
    kind: mailer.kind,
    send(mail) {
      if (closing) return Promise.reject(new Error('the mailer is closed'));
      const sending = mailer.send(mail);
      const settled = sending.then(
        () => undefined,
        () => undefined,
      );
      inFlight.add(settled);
      void settled.then(() => inFlight.delete(settled));
      return sending;
    },
    close() {
      closing ??= Promise.all(inFlight).then(() => mailer.close());
      return closing;
    },
  };
}

/** Signs each mail with the product name, so a team's users know who wrote to them. */
function signed(mailer: Mailer, appName: string): Mailer {
  return {
    ...mailer,
    send: (mail) =>
      mailer.send({
        ...mail,
        text: `${mail.text}\n\n-- \n${appName}`,
        html: mail.html.replace(/<\/body>/, `<p>${escapeHtml(appName)}</p></body>`),
      }),
  };
}

/**
 * The transport, made on the first mail: nodemailer is loaded then, not at start-up (issue 17:
 * it is one of the largest imports, and many instances send no mail for a while).
 */
function lazyTransport(make: (nodemailer: typeof import('nodemailer')) => Transporter): {
  get(): Promise<Transporter>;
  made(): Promise<Transporter> | undefined;
} {
  let transport: Promise<Transporter> | undefined;
  return {
    get: () => {
      transport ??= import('nodemailer').then(make);
      return transport;
    },
    made: () => transport,
  };
}

function smtpMailer(smtpUrl: string, from: string, log: MailLog): Mailer {
  // Settings in the URL's query win over these defaults (nodemailer merges them that way).
  const transport = lazyTransport(({ createTransport }) =>
    createTransport(
      {
        url: smtpUrl,
        pool: true,
        connectionTimeout: 5_000,
        greetingTimeout: 5_000,
        socketTimeout: 10_000,
        dnsTimeout: 5_000,
        logger: false,
        disableFileAccess: true,
        disableUrlAccess: true,
      },
      { from },
    ),
  );
  return {
    kind: 'smtp',
    async send(mail) {
      assertSingleAddress(mail.to);
      try {
        await (await transport.get()).sendMail({ ...mail });
      } catch (err) {
        // The server's reply text may quote the address, so only codes are logged.
        const { code, responseCode } = err as { code?: unknown; responseCode?: unknown };
        log.warn(
          { event: 'mail_send_failed', domain: domainOf(mail.to), code, responseCode },
          'mail could not be sent',
        );
        throw err;
      }
    },
    async close() {
      (await transport.made())?.close();
    },
  };
}

function outboxMailer(from: string, outboxDir: string, log: MailLog): Mailer {
  const transport = lazyTransport(({ createTransport }) =>
    createTransport({ streamTransport: true, buffer: true, newline: 'windows' }, { from }),
  );
  return {
    kind: 'outbox',
    async send(mail) {
      assertSingleAddress(mail.to);
      const info = await (await transport.get()).sendMail({ ...mail });
      await mkdir(outboxDir, { recursive: true, mode: 0o700 });
      // ISO 8601 basic format: sorts by time and has no ':' (not allowed in Windows file names).
      const stamp = new Date().toISOString().replace(/[-:]/g, '');
      const file = join(outboxDir, `${stamp}-${randomBytes(4).toString('hex')}.eml`);
      // `buffer: true` makes it a Buffer; 'wx' never follows or overwrites an existing file.
      await writeFile(file, info.message as Buffer, { mode: 0o600, flag: 'wx' });
      // Open the file for the link: a token in a log line is a credential for every log reader.
      log.info({ subject: mail.subject, file }, 'mail written to dev outbox');
    },
    async close() {},
  };
}

function assertSingleAddress(to: string): void {
  if (!SINGLE_ADDRESS.test(to)) throw new TypeError('mail.to must be a single plain address');
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values in mail templates. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}
