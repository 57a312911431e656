/** Row type of social login identities (migrations/0010); part of the `Database` interface. */
import type { ColumnType } from 'kysely';

declare module '../../platform/db/schema.js' {
  interface Database {
    identities: IdentitiesTable;
  }
}

export interface IdentitiesTable {
  /** uuidv7. */
  id: string;
  user_id: string;
  /** The provider's slug in Bastion's settings (`google`, `github`), as shown to the owner. */
  provider: string;
  /** With `subject`, the key of the identity: never the email. */
  issuer: string;
  subject: string;
  /** The address the provider asserted at the last login (display only). */
  email: string | null;
  created_at: ColumnType<Date, Date, never>;
  last_login_at: ColumnType<Date, Date, Date>;
}
