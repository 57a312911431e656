/**
 * TOTP (RFC 6238): 160-bit secrets from the CSPRNG, 30 s steps, 6 digits, one step of drift
 * either way. The caller stores the accepted step so each code works once.
 */
import { Secret, TOTP } from 'otpauth';

const PERIOD = 30;
const DIGITS = 6;
const WINDOW = 1;

export interface TotpEnrolment {
  readonly secret: string;
  readonly otpauthUrl: string;
  readonly qrSvg: string;
}

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

export async function enrolment(
  secret: string,
  issuer: string,
  label: string,
): Promise<TotpEnrolment> {
  const totp = new TOTP({
    issuer,
    label,
    secret: Secret.fromBase32(secret),
    period: PERIOD,
    digits: DIGITS,
  });
  const otpauthUrl = totp.toString();
  // qrcode is imported on the first enrolment: the server starts without it (issue 17).
  const { default: QRCode } = await import('qrcode');
  const qrSvg = await QRCode.toString(otpauthUrl, {
    type: 'svg',
    errorCorrectionLevel: 'M',
    margin: 2,
  });
  return { secret, otpauthUrl, qrSvg };
}

/** The time step a code belongs to, or null when it matches no step in the window. */
export function matchingStep(secret: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(secret),
    period: PERIOD,
    digits: DIGITS,
    timestamp: nowMs,
    window: WINDOW,
  });
  if (delta === null) return null;
  return TOTP.counter({ period: PERIOD, timestamp: nowMs }) + delta;
}

/** The code for a moment (tests and the CLI). */
export function codeAt(secret: string, nowMs: number): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    period: PERIOD,
    digits: DIGITS,
    timestamp: nowMs,
  });
}
