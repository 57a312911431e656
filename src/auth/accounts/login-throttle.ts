/**
 * Login throttling. Failures are counted per IP, per account and per IP+account. From the
 * account's Nth consecutive failure (default 10) every further failure blocks the account for a
 * doubling time, 1 s up to 15 min: slow for a guesser, never a permanent lock. A valid device
 * cookie skips the account backoff (the IP limits still apply); a success clears the account's
 * counters. Accounts are keyed by normalized email, so unknown addresses behave the same.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import { clientKey } from '../../platform/rate-limit/client-key.js';
import { rateLimited } from '../../platform/rate-limit/limiters.js';
import type { RateLimits } from '../../platform/rate-limit/rate-limits.js';
import type { SecurityEvents } from '../../platform/security-events.js';

export interface LoginAttempt {
  readonly ip: string;
  readonly accountKey: string;
  readonly knownDevice: boolean;
}

export class LoginThrottle {
  constructor(
    private readonly limits: RateLimits,
    private readonly config: Config,
    private readonly events: SecurityEvents,
  ) {}

  /** Throws 429 before any password work when this attempt is over a limit. */
  async admit(attempt: LoginAttempt): Promise<void> {
    const ip = clientKey(attempt.ip);
    await this.limits.loginIp.check(ip);
    await this.limits.loginIpAccount.check(`${ip}|${attempt.accountKey}`);
    if (!attempt.knownDevice) {
      const ms = await this.limits.loginAccountBlock.blockedFor(attempt.accountKey);
      if (ms > 0) throw rateLimited(this.config.rateLimits.loginAccountFreeFailures, ms);
    }
  }

  async failed(attempt: LoginAttempt, log: FastifyBaseLogger): Promise<void> {
    const ip = clientKey(attempt.ip);
    const r = this.config.rateLimits;
    const [ipFailures, consecutive] = await Promise.all([
      this.limits.loginIp.penalize(ip),
      this.limits.loginAccount.penalize(attempt.accountKey),
      this.limits.loginIpAccount.penalize(`${ip}|${attempt.accountKey}`),
    ]);
    if (consecutive >= r.loginAccountFreeFailures) {
      const seconds = Math.min(
        2 ** (consecutive - r.loginAccountFreeFailures),
        r.loginAccountMaxBackoffSeconds,
      );
      await this.limits.loginAccountBlock.block(attempt.accountKey, seconds);
      if (consecutive === r.loginAccountFreeFailures) {
        await this.events.record(log, {
          type: 'account_throttled',
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

  async succeeded(attempt: LoginAttempt): Promise<void> {
    const ip = clientKey(attempt.ip);
    await Promise.all([
      this.limits.loginAccount.reset(attempt.accountKey),
      this.limits.loginAccountBlock.reset(attempt.accountKey),
      this.limits.loginIpAccount.reset(`${ip}|${attempt.accountKey}`),
    ]);
  }
}
