/**
 * Payment webhooks: verify the Stripe signature over the raw body, then record each event once
 * and credit the wallet for a `payment_intent.succeeded`, in one transaction. The account is
 * checked (and its row locked) inside that transaction, so an account deleted meanwhile is
 * recorded as `deleted_user` and never credited.
 */
import type { FastifyBaseLogger } from 'fastify';
import { platformError } from '../../platform/errors.js';
import type { ShopDeps } from '../shop.deps.js';
import { credit, EXTERNAL_STRIPE } from '../wallet/wallet.store.js';
import { webhookError } from './webhooks.errors.js';
import { PaymentIntent } from './webhooks.schemas.js';
import { lockAccount, type PaymentEventRecord, recordEvent } from './webhooks.store.js';

/** Stripe's own default: a signature older than five minutes is refused (replays). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export type VerifiedEvent = { id: string; type: string; data: { object: unknown } };

let stripeModule: Promise<typeof import('stripe')['default']> | undefined;
/** Stripe's SDK, imported on the first webhook (issue 17): ~20 MB of RSS most instances never use. */
function loadStripe() {
  stripeModule ??= import('stripe').then((m) => m.default);
  return stripeModule;
}

/** The event, if `signature` is Stripe's over exactly these bytes, made within the tolerance. */
export async function verifyEvent(
  deps: ShopDeps,
  raw: Buffer,
  signature: unknown,
): Promise<VerifiedEvent> {
  const secret = deps.config.stripeWebhookSecret;
  if (!secret) throw platformError('service_unavailable');
  if (typeof signature !== 'string' || signature.length === 0 || signature.length > 4096) {
    throw webhookError('invalid_signature');
  }
  const Stripe = await loadStripe();
  try {
    return Stripe.webhooks.constructEvent(
      raw,
      signature,
      secret,
      SIGNATURE_TOLERANCE_SECONDS,
      undefined,
      deps.clock.now(),
    ) as unknown as VerifiedEvent;
  } catch (err) {
    // Classified by type, never by message: only a failed check is the client's fault.
    if (err instanceof Stripe.errors.StripeSignatureVerificationError) {
      throw webhookError('invalid_signature');
    }
    // A signed body that is not JSON (constructEvent parses it).
    if (err instanceof SyntaxError) throw platformError('malformed_json');
    throw err;
  }
}

type Verdict = Omit<PaymentEventRecord, 'id' | 'type' | 'now'>;

/**
 * What an event should do by its own content: credit a wallet (if the account turns out live),
 * or only be recorded with the reason.
 */
function assess(deps: ShopDeps, event: VerifiedEvent): Verdict {
  const none = { userId: null, amountCents: null, currency: null };
  if (event.type !== 'payment_intent.succeeded') return { ...none, outcome: 'ignored_type' };
  const parsed = PaymentIntent.safeParse(event.data?.object);
  if (!parsed.success) return { ...none, outcome: 'invalid_payment_intent' };
  const intent = parsed.data;
  const seen = {
    userId: intent.metadata.userId.toLowerCase(),
    amountCents: intent.amount_received,
    currency: intent.currency.toLowerCase(),
  };
  if (seen.currency !== deps.config.currency) return { ...seen, outcome: 'currency_mismatch' };
  return { ...seen, outcome: 'credited' };
}

/** Records the event once; credits the wallet in the same transaction when it should. */
export async function handleEvent(
  deps: ShopDeps,
  log: FastifyBaseLogger,
  event: VerifiedEvent,
): Promise<void> {
  if (typeof event.id !== 'string' || event.id.length === 0 || event.id.length > 255) {
    throw platformError('validation_failed');
  }
  const verdict = assess(deps, event);
  const now = new Date(deps.clock.now());
  const base = { ...verdict, id: event.id, type: String(event.type).slice(0, 255), now };
  const { fresh, record } = await deps.db.transaction().execute(async (trx) => {
    let record: PaymentEventRecord = base;
    if (record.outcome === 'credited' && record.userId) {
      const account = await lockAccount(trx, record.userId);
      if (account === 'deleted') record = { ...record, outcome: 'deleted_user' };
      if (account === 'unknown') record = { ...record, outcome: 'unknown_user' };
    }
    if (!(await recordEvent(trx, record))) return { fresh: false, record };
    if (record.outcome === 'credited' && record.userId && record.amountCents) {
      await credit(trx, {
        userId: record.userId,
        counterparty: EXTERNAL_STRIPE,
        amountCents: record.amountCents,
        currency: deps.config.currency,
        kind: 'deposit',
        reference: event.id,
        now,
      });
    }
    return { fresh: true, record };
  });
  log.info(
    { event: 'payment_webhook', eventId: event.id, outcome: fresh ? record.outcome : 'duplicate' },
    'payment webhook',
  );
}
