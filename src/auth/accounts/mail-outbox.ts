/**
 * The account mail outbox (issue 14, item 4). Forgot-password and registration only write one
 * row here, the same for a known and an unknown address, and answer: the request's work, and so
 * its timing, no longer depends on whether the address has an account. A worker on every instance
 * claims rows with `FOR UPDATE SKIP LOCKED` (so two instances never take the same row), looks the
 * account up, makes the link token, sends the mail and deletes the row. A worker that dies
 * mid-batch leaves its rows claimed for `LEASE_MS`, after which another instance takes them.
 */
import type { FastifyBaseLogger } from 'fastify';
import { uuidv7 } from 'uuidv7';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/database.js';
import type { Mail, Mailer } from '../../platform/mail/mailer.js';
import { findUserByEmailKey } from './accounts.store.js';
import type { MailOutboxTable, OutboxKind } from './mail-outbox.tables.js';
import './mail-outbox.tables.js';

type OutboxRow = Pick<MailOutboxTable, 'id' | 'kind' | 'email_key' | 'ref'> & {
  attempts: number;
};

/** What the worker needs: the account look-up is its own, the mails come from `compose`. */
export interface OutboxDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly mailer: Mailer;
  /**
   * The mail a row asks for, or undefined when none is due (unknown or locked address). Runs
   * the link-token work; only the worker calls it.
   */
  readonly compose: (
    row: { kind: OutboxKind; ref: string | null },
    user: NonNullable<Awaited<ReturnType<typeof findUserByEmailKey>>> | undefined,
  ) => Promise<Mail | undefined>;
}

export interface OutboxWorkerOptions {
  /** Pause between polls when the last one found less than a full batch. */
  readonly intervalMs?: number;
  readonly batchSize?: number;
  /** How long a claim holds; a crashed worker's rows come back after it. */
  readonly leaseMs?: number;
  /** Sends tried per row before it is dropped (and logged). */
  readonly maxAttempts?: number;
}

/** One row; the request's only database work for these flows. */
export async function enqueueAccountMail(
  db: Db,
  clock: Clock,
  kind: OutboxKind,
  emailKey: string,
  ref: string | null,
): Promise<void> {
  await db
    .insertInto('mail_outbox')
    .values({ id: uuidv7(), kind, email_key: emailKey, ref, created_at: new Date(clock.now()) })
    .execute();
}

export class AccountMailWorker {
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly deps: OutboxDeps,
    private readonly log: FastifyBaseLogger,
    options: OutboxWorkerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 200;
    this.batchSize = options.batchSize ?? 10;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.running = this.loop();
  }

  /** Stops polling and waits for the batch in hand to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let handled = 0;
      try {
        handled = await this.runOnce();
      } catch (err) {
        this.log.warn(
          { event: 'mail_outbox_failed', errName: (err as Error)?.name },
          'mail outbox poll failed',
        );
      }
      if (handled < this.batchSize && !this.stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.intervalMs);
          timer.unref();
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** Claims and handles one batch; returns how many rows it claimed. */
  async runOnce(): Promise<number> {
    const now = this.deps.clock.now();
    const rows = await this.claim(new Date(now), new Date(now + this.leaseMs));
    for (const row of rows) await this.handle(row);
    return rows.length;
  }

  private async claim(now: Date, until: Date): Promise<OutboxRow[]> {
    const { db } = this.deps;
    return db
      .updateTable('mail_outbox')
      .set((eb) => ({ claimed_until: until, attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('mail_outbox')
          .select('id')
          .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<', now)]))
          .orderBy('id')
          .limit(this.batchSize)
          .forUpdate()
          .skipLocked(),
      )
      .returning(['id', 'kind', 'email_key', 'ref', 'attempts'])
      .execute();
  }

  private async handle(row: OutboxRow): Promise<void> {
    const { db } = this.deps;
    try {
      const user = await findUserByEmailKey(db, row.email_key);
      const mail = await this.deps.compose(row, user);
      if (mail) await this.deps.mailer.send(mail);
    } catch (err) {
      const giveUp = row.attempts >= this.maxAttempts;
      this.log.warn(
        {
          event: giveUp ? 'mail_outbox_dropped' : 'mail_outbox_retry',
          kind: row.kind,
          attempts: row.attempts,
          errName: (err as Error)?.name,
        },
        giveUp ? 'account mail dropped after its last attempt' : 'account mail will be retried',
      );
      if (!giveUp) {
        // Back off: the claim is moved to a later retry instead of being released now.
        const retryAt = new Date(this.deps.clock.now() + 5_000 * 2 ** row.attempts);
        await db
          .updateTable('mail_outbox')
          .set({ claimed_until: retryAt })
          .where('id', '=', row.id)
          .execute();
        return;
      }
    }
    await db.deleteFrom('mail_outbox').where('id', '=', row.id).execute();
  }
}
