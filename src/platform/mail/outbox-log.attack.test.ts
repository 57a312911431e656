/**
 * The dev outbox logged every mail's links (issue 14, informational): a reset, verification or
 * "this was not me" token in a log line is a credential for whoever reads the logs, and the
 * recipient's address is personal data. The log line now names the outbox file only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailer, type MailLog } from './mailer.js';

const TOKEN = 'Zq3l0Yb8kTQfGm1xWcR7uVn2pEoHsJ4aLdK9iB6yXzA';
const ADDRESS = 'victim@example.com';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bastion-outbox-log-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('dev outbox log lines', () => {
  it('carry the outbox file, never the link token or the address', async () => {
    const lines: string[] = [];
    const log: MailLog = {
      info: (obj, msg) => lines.push(JSON.stringify({ obj, msg })),
      warn: (obj, msg) => lines.push(JSON.stringify({ obj, msg })),
    };
    const outboxDir = join(dir, 'outbox');
    const mailer = createMailer({ from: 'Bastion <no-reply@bastion.test>', outboxDir, log });
    const link = `http://127.0.0.1:3000/reset-password?token=${TOKEN}`;
    await mailer.send({
      to: ADDRESS,
      subject: 'Reset your password',
      text: `Choose a new password: ${link}`,
      html: `<p><a href="${link}">Choose a new password</a></p>`,
    });
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    expect(line).not.toContain(TOKEN);
    expect(line).not.toContain(ADDRESS);
    expect(line).toContain(outboxDir);
  });
});
