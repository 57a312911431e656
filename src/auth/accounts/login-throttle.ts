/**
 * Login throttling. Failures are counted per IP, per account and per IP+account. From the
 * account's Nth consecutive failure (default 10) every further failure blocks the account for a
 * doubling time, 1 s up to 15 min: slow for a guesser, never a permanent lock. A valid device
 * cookie skips the account backoff (the IP limits still apply); a success clears the account's
 * counters. Accounts are keyed by normalized email, so unknown addresses behave the same.
 *
 * Every attempt is counted as a failure when it is admitted, before any password work, and given
 * back when it succeeds: a budget checked first and counted only after the hash let a concurrent
 * burst through whole (34 guesses at once where 10 were allowed, and again after every backoff).
 * Past the free failures, an attempt without a device cookie must also claim the account's
 * backoff slot, which exactly one of a burst gets.
 *
 * An attempt that ends without a verdict on the password (503 `overloaded`: the hash pool was
 * full) is given back whole with abandoned(): a flood the server refuses must not spend the
 * budget of the addresses and accounts it names (issue 5).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import { clientKey } from '../../platform/rate-limit/client-key.js';
import { type Limiter, rateLimited } from '../../platform/rate-limit/limiters.js';
import type { RateLimits } from '../../platform/rate-limit/rate-limits.js';
import type { SecurityEvents } from '../../platform/security-events.js';

export interface LoginAttempt {
  readonly ip: string;
  readonly accountKey: string;
  readonly knownDevice: boolean;
}

/** What admit() counted for an attempt, settled by failed() or succeeded(). */
interface Counted {
  readonly ipFailures: number;
  readonly consecutive: number;
}

export class LoginThrottle {
  private readonly counted = new WeakMap<LoginAttempt, Counted>();

  constructor(
    private readonly limits: RateLimits,
    private readonly config: Config,
    private readonly events: SecurityEvents,
  ) {}

  /** The account backoff after `consecutive` failures, in seconds. */
  private backoffSeconds(consecutive: number): number {
    const r = this.config.rateLimits;
    return Math.min(
      2 ** Math.max(0, consecutive - r.loginAccountFreeFailures),
      r.loginAccountMaxBackoffSeconds,
    );
  }

  /** Throws 429 before any password work when this attempt is over a limit; else counts it. */
  async admit(attempt: LoginAttempt): Promise<void> {
    const ip = clientKey(attempt.ip);
    const pair = `${ip}|${attempt.accountKey}`;
    const free = this.config.rateLimits.loginAccountFreeFailures;
    // Refusals that count nothing: most of a sustained flood ends here.
    if (!attempt.knownDevice) {
      const ms = await this.limits.loginAccountBlock.blockedFor(attempt.accountKey);
      if (ms > 0) throw rateLimited(free, ms);
    }
    const taken: [Limiter, string][] = [];
    try {
      const ipFailures = await this.limits.loginIp.consume(ip);
      taken.push([this.limits.loginIp, ip]);
      await this.limits.loginIpAccount.consume(pair);
      taken.push([this.limits.loginIpAccount, pair]);
      const consecutive = await this.limits.loginAccount.penalize(attempt.accountKey);
      taken.push([this.limits.loginAccount, attempt.accountKey]);
      if (!attempt.knownDevice && consecutive >= free) {
        const seconds = this.backoffSeconds(consecutive);
        const ms = await this.limits.loginAccountBlock.claim(attempt.accountKey, seconds);
        if (ms > 0) throw rateLimited(free, ms);
      }
      this.counted.set(attempt, { ipFailures, consecutive });
    } catch (err) {
      // Refused: this attempt does not count.
      await Promise.all(taken.map(([limiter, key]) => limiter.refund(key)));
      throw err;
    }
  }

  /**
   * Records a wrong password. `userIdOf` names the account in the `account_throttled` event; it
   * is called only when that event is raised (once per backoff), so it may query the database.
   */
  async failed(
    attempt: LoginAttempt,
    log: FastifyBaseLogger,
    userIdOf?: () => Promise<string | undefined>,
  ): Promise<void> {
    const counted = this.counted.get(attempt);
    if (!counted) return;
    this.counted.delete(attempt);
    const r = this.config.rateLimits;
    const { ipFailures, consecutive } = counted;
    if (consecutive >= r.loginAccountFreeFailures) {
      // From the failure, not from the admission: the hash may have waited in the queue.
      await this.limits.loginAccountBlock.block(
        attempt.accountKey,
        this.backoffSeconds(consecutive),
      );
      if (consecutive === r.loginAccountFreeFailures) {
        await this.events.record(log, {
          type: 'account_throttled',
          userId: (await userIdOf?.().catch(() => undefined)) ?? null,
          ip: attempt.ip,
          detail: { consecutiveFailures: consecutive },
        });
      }
    }
    if (ipFailures === r.loginIpFailures) {
      await this.events.record(log, {
        type: 'ip_throttled',
        ip: attempt.ip,
        detail: { failures: ipFailures },
      });
    }
  }

  /** Gives back what admit() counted, for an attempt refused before its password was checked. */
  async abandoned(attempt: LoginAttempt): Promise<void> {
    const counted = this.counted.get(attempt);
    if (!counted) return;
    this.counted.delete(attempt);
    const ip = clientKey(attempt.ip);
    await Promise.all([
      this.limits.loginIp.refund(ip),
      this.limits.loginIpAccount.refund(`${ip}|${attempt.accountKey}`),
      this.limits.loginAccount.refund(attempt.accountKey),
    ]);
  }

  async succeeded(attempt: LoginAttempt): Promise<void> {
    const counted = this.counted.get(attempt);
    this.counted.delete(attempt);
    const ip = clientKey(attempt.ip);
    await Promise.all([
      // The per-IP limit counts failures: a success gives its point back.
      counted ? this.limits.loginIp.refund(ip) : undefined,
      this.limits.loginAccount.reset(attempt.accountKey),
      this.limits.loginAccountBlock.reset(attempt.accountKey),
      this.limits.loginIpAccount.reset(`${ip}|${attempt.accountKey}`),
    ]);
  }
}
