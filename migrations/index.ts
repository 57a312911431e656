/** Every migration, in order. Static imports so the same list works from source and from a build. */
import type { Migration } from 'kysely';
import * as m0001 from './0001_accounts.js';
import * as m0002 from './0002_sessions_and_keys.js';
import * as m0003 from './0003_mfa.js';
import * as m0004 from './0004_audit_and_admin.js';
import * as m0005 from './0005_shop.js';
import * as m0006 from './0006_posts.js';
import * as m0007 from './0007_ledger_append_only.js';
import * as m0008 from './0008_audit_chain_keyed.js';
import * as m0009 from './0009_account_login_block_and_mail_outbox.js';
import * as m0010 from './0010_identities.js';
import * as m0011 from './0011_lifecycle_events.js';
import * as m0012 from './0012_email_change_tokens.js';
import * as m0013 from './0013_admin_support.js';
import * as m0014 from './0014_mail_outbox_verification_resend.js';
import * as m0016 from './0016_passkeys.js';
import * as m0017 from './0017_media.js';
import * as m0018 from './0018_session_first_factor.js';
import * as m0019 from './0019_session_first_factor_federated.js';

export const migrations: Record<string, Migration> = {
  '0001_accounts': m0001,
  '0002_sessions_and_keys': m0002,
  '0003_mfa': m0003,
  '0004_audit_and_admin': m0004,
  '0005_shop': m0005,
  '0006_posts': m0006,
  '0007_ledger_append_only': m0007,
  '0008_audit_chain_keyed': m0008,
  '0009_account_login_block_and_mail_outbox': m0009,
  '0010_identities': m0010,
  '0011_lifecycle_events': m0011,
  '0012_email_change_tokens': m0012,
  '0013_admin_support': m0013,
  '0014_mail_outbox_verification_resend': m0014,
  '0016_passkeys': m0016,
  '0017_media': m0017,
  '0018_session_first_factor': m0018,
  '0019_session_first_factor_federated': m0019,
};
