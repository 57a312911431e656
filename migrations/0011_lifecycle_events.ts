import { type Kysely, sql } from 'kysely';

/**
 * Issue 19. `lifecycle_events`: the durable outbox of the user-lifecycle webhook. A change writes
 * its row in the change's own transaction (the event exists iff the change committed); a worker on
 * every instance claims due rows with `FOR UPDATE SKIP LOCKED`, POSTs them to WEBHOOK_URL and marks
 * them delivered, or moves `next_attempt_at` on with a capped exponential backoff. `id` is the
 * event id the receiver sees: the same on every retry. No response body is ever kept.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('lifecycle_events')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .execute();
  // The worker's scan: undelivered rows by due time.
  await db.schema
    .createIndex('lifecycle_events_due_idx')
    .on('lifecycle_events')
    .column('next_attempt_at')
    .where(sql.ref('delivered_at'), 'is', null)
    .execute();
  // Retention's scan: delivered rows by age.
  await db.schema
    .createIndex('lifecycle_events_delivered_idx')
    .on('lifecycle_events')
    .column('delivered_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('lifecycle_events').execute();
}
