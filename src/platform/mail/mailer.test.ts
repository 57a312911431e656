import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractLink, startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { createMailer, escapeHtml, type Mail, type MailLog } from './mailer.js';

const FROM = 'Bastion <no-reply@bastion.test>';
const TOKEN = 'q3Zl0Yb8kTQfGm1xWcR7uVn2pEoHsJ4aLdK9iB6yXzA';
const LINK = `http://127.0.0.1:3000/verify-email?token=${TOKEN}`;

function verifyMail(to: string): Mail {
  return {
    to,
    subject: 'Confirm your email address',
    text: `Confirm your address by opening this link:\n\n${LINK}\n\nIt expires in 24 hours.`,
    html: `<p>Confirm your address: <a href="${escapeHtml(LINK)}">confirm</a></p>`,
  };
}

function recordingLog(): MailLog & { lines: { level: string; obj: object; msg: string }[] } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
  };
}

/** An SMTP-mode mailer on `url` (the dev outbox directory is never used in that mode). */
const smtpMailer = (url: string, log: MailLog = recordingLog()) =>
  createMailer({ smtpUrl: url, from: FROM, outboxDir: '/nonexistent', log });

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('SMTP mode, closing while a mail is on the wire', () => {
  it('lets the mail finish before closing, and refuses mails sent after close()', async () => {
    let arrived!: () => void;
    const dataArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    let acknowledge!: () => void;
    const held = new Promise<void>((resolve) => {
      acknowledge = resolve;
    });
    // The server holds its reply to the message, so the mail is mid-transaction at close().
    const smtp = await startTestSmtp({
      beforeAck: () => {
        arrived();
        return held;
      },
    });
    const mailer = smtpMailer(smtp.url);
    try {
      const sending = mailer.send(verifyMail('erin@example.com'));
      await dataArrived;
      let closed = false;
      const closing = mailer.close().then(() => {
        closed = true;
      });
      await expect(mailer.send(verifyMail('frank@example.com'))).rejects.toThrow(/closed/);
      expect(closed).toBe(false);
      acknowledge();
      await sending;
      await closing;
      expect(smtp.messages.map((m) => m.to)).toEqual([['erin@example.com']]);
      // The connection was ended cleanly: no reset in the middle of a transaction.
      expect(smtp.errors).toEqual([]);
    } finally {
      acknowledge();
      await mailer.close();
      await smtp.close();
    }
  });
});

describe('SMTP mode', () => {
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startTestSmtp();
  });
  afterAll(async () => smtp.close());

  it('delivers the subject, text, HTML and sender to a real SMTP server', async () => {
    const log = recordingLog();
    const mailer = smtpMailer(smtp.url, log);
    try {
      expect(mailer.kind).toBe('smtp');
      await mailer.send(verifyMail('alice@example.com'));
      const mail = await smtp.waitForMail('ALICE@example.com');
      expect(mail.to).toEqual(['alice@example.com']);
      expect(mail.from).toBe('no-reply@bastion.test');
      expect(mail.subject).toBe('Confirm your email address');
      expect(mail.text).toContain(LINK);
      expect(mail.html).toContain(`href="${LINK}"`);
      expect(mail.raw).toMatch(/^From: Bastion <no-reply@bastion\.test>\r?$/m);
      expect(extractLink(mail, '/verify-email').searchParams.get('token')).toBe(TOKEN);
      expect(() => extractLink(mail, '/reset-password')).toThrow();
      // Nothing about the mail, let alone its link, is logged in SMTP mode.
      expect(log.lines).toEqual([]);
    } finally {
      await mailer.close();
    }
  });

  it('waitForMail hands out each mail once, in arrival order', async () => {
    const mailer = smtpMailer(smtp.url);
    try {
      await mailer.send({ ...verifyMail('bob@example.com'), subject: 'first' });
      await mailer.send({ ...verifyMail('bob@example.com'), subject: 'second' });
      expect((await smtp.waitForMail('bob@example.com')).subject).toBe('first');
      expect((await smtp.waitForMail('bob@example.com')).subject).toBe('second');
      await expect(smtp.waitForMail('bob@example.com', undefined, 200)).rejects.toThrow(
        /no mail to bob@example\.com/,
      );
    } finally {
      await mailer.close();
    }
  });

  it('refuses a recipient that smuggles in a second address or a header', async () => {
    const mailer = smtpMailer(smtp.url);
    try {
      for (const to of [
        'carol@example.com, mallory@evil.test',
        'carol@example.com\r\nBcc: mallory@evil.test',
        'Carol <mallory@evil.test>',
      ]) {
        await expect(mailer.send(verifyMail(to))).rejects.toBeInstanceOf(TypeError);
      }
      await mailer.send(verifyMail('carol@example.com'));
      await smtp.waitForMail('carol@example.com');
      expect(smtp.messages.flatMap((m) => m.to)).not.toContain('mallory@evil.test');
    } finally {
      await mailer.close();
    }
  });

  it('rejects when the SMTP server cannot be reached, logging only the domain', async () => {
    const log = recordingLog();
    const mailer = smtpMailer(`smtp://127.0.0.1:${await closedPort()}`, log);
    try {
      await expect(mailer.send(verifyMail('dave@example.com'))).rejects.toThrow();
      expect(log.lines).toHaveLength(1);
      expect(log.lines[0]).toMatchObject({
        level: 'warn',
        obj: { event: 'mail_send_failed', domain: 'example.com' },
      });
      expect(JSON.stringify(log.lines)).not.toContain('dave');
    } finally {
      await mailer.close();
    }
  });
});

describe('dev outbox mode', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bastion-outbox-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('writes a private .eml file holding the mail and logs its file, not its link', async () => {
    const log = recordingLog();
    const outboxDir = join(dir, 'data', 'outbox');
    const mailer = createMailer({ from: FROM, outboxDir, log });
    expect(mailer.kind).toBe('outbox');
    await mailer.send(verifyMail('erin@example.com'));
    await mailer.close();

    expect((await stat(outboxDir)).mode & 0o777).toBe(0o700);
    const files = await readdir(outboxDir);
    expect(files).toHaveLength(1);
    const name = files[0] ?? '';
    expect(name).toMatch(/^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}\.eml$/);
    const file = join(outboxDir, name);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const raw = await readFile(file, 'utf8');
    expect(raw).toMatch(/^From: Bastion <no-reply@bastion\.test>\r$/m);
    expect(raw).toMatch(/^To: erin@example\.com\r$/m);
    expect(raw).toMatch(/^Subject: Confirm your email address\r$/m);
    expect(raw).toMatch(/^Date: /m);
    // Long lines are quoted-printable, so the link is checked in the decoded parts.
    const parsed = await simpleParser(raw);
    expect(parsed.text).toContain(LINK);
    expect(parsed.html).toContain(`href="${LINK}"`);

    expect(log.lines).toEqual([
      {
        level: 'info',
        obj: { subject: 'Confirm your email address', file },
        msg: 'mail written to dev outbox',
      },
    ]);
  });
});

describe('escapeHtml', () => {
  it('neutralizes script strings and attribute breakouts', () => {
    expect(escapeHtml('<script>alert("x")</script>')).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;',
    );
    expect(escapeHtml(`" onmouseover='steal()' a="&amp;`)).toBe(
      '&quot; onmouseover=&#39;steal()&#39; a=&quot;&amp;amp;',
    );
    expect(escapeHtml('plain text')).toBe('plain text');
  });
});
