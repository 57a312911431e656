/** `bastion doctor`: what in a configuration is weak or missing, and what to do about it. */
import type { Config } from '../config.js';

export interface Finding {
  readonly level: 'error' | 'warning';
  readonly setting: string;
  readonly message: string;
}

export function diagnose(config: Config): Finding[] {
  const findings: Finding[] = [];
  const add = (level: Finding['level'], setting: string, message: string) =>
    findings.push({ level, setting, message });
  const production = config.nodeEnv === 'production';
  const serious = production ? 'error' : 'warning';

  if (!config.publicUrl.startsWith('https://'))
    add(
      serious,
      'PUBLIC_URL',
      'serve over HTTPS (TLS_CERT/TLS_KEY or a TLS-terminating proxy with TRUST_PROXY)',
    );
  if (!config.tls && config.trustProxy.length === 0)
    add(serious, 'TLS_CERT/TLS_KEY', 'no TLS and no trusted proxy: traffic would be plain HTTP');
  if (!config.keyEncryptionKey)
    add(serious, 'KEY_ENCRYPTION_KEY', 'set 32 random bytes (base64): `openssl rand -base64 32`');
  if (!config.smtpUrl) add(serious, 'SMTP_URL', 'mail goes to the dev outbox; set an SMTP server');
  else if (config.smtpUrl.startsWith('smtp://') && !/requireTLS=true/.test(config.smtpUrl))
    add('warning', 'SMTP_URL', 'use smtps:// or add ?requireTLS=true so mail cannot be downgraded');
  if (!config.databaseUrl)
    add(serious, 'DATABASE_URL', 'embedded PGlite is for development; use PostgreSQL 15+');
  if (!config.redisUrl)
    add(
      production ? 'warning' : 'warning',
      'REDIS_URL',
      'limits and revocations are per instance without Redis',
    );
  if (config.trustProxy.some((p) => p === '0.0.0.0/0' || p === '::/0' || p === 'true'))
    add('error', 'TRUST_PROXY', 'trusts every address: clients could forge X-Forwarded-For');
  if (config.corsOrigins.some((o) => !o.startsWith('https://')) && production)
    add('error', 'CORS_ORIGINS', 'allow only https:// origins in production');
  if (config.jwt.alg === 'RS256')
    add(
      'warning',
      'JWT_ALG',
      'RS256 (RSASSA-PKCS1-v1_5) is disallowed by ASVS 5.0; prefer EdDSA or ES256',
    );
  if (config.jwt.rotationDays > 90)
    add('warning', 'KEY_ROTATION_DAYS', 'rotate signing keys at least every 90 days');
  if (!config.stripeWebhookSecret)
    add('warning', 'STRIPE_WEBHOOK_SECRET', 'payment webhooks answer 503 until it is set');
  if (!config.metricsToken) add('warning', 'METRICS_TOKEN', '/metrics is off until it is set');
  if (config.password.minLength < 15)
    add(
      'warning',
      'PASSWORD_MIN_LENGTH',
      'below 15: allowed by NIST only when MFA is enforced for everyone',
    );
  return findings;
}
