/**
 * The Kysely dialect for the embedded database (issue 20). PGlite is one PostgreSQL session, so a
 * transaction must have it to itself; other queries need not wait for each other. Queries outside
 * a transaction are posted to the database thread as they come, and the thread runs them back to
 * back without waiting for a round trip to this thread between them (kysely-pglite-dialect, used
 * before, held the session for each query, so the database thread sat idle for every hop). While a
 * transaction is open, queries from outside it wait here until it ends; what was posted before its
 * BEGIN runs before it, the thread answering in order.
 */
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { PgliteClient } from './pglite-thread.js';

export class PgliteDialect implements Dialect {
  constructor(private readonly client: PgliteClient) {}
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PgliteDriver(this.client);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own dialects take Kysely<any> here.
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

class PgliteDriver implements Driver {
  /** The open transaction: its connection, settled when it ends; none: the session is free. */
  private open: { owner: PgliteConnection; ended: Promise<void>; release(): void } | undefined;

  constructor(private readonly client: PgliteClient) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PgliteConnection(this);
  }

  async run(connection: PgliteConnection, query: CompiledQuery): Promise<QueryResult<unknown>> {
    // The check and the post happen in one turn of the event loop: no BEGIN can come between.
    while (this.open && this.open.owner !== connection) await this.open.ended;
    const result = await this.client.query(query.sql, [...query.parameters]);
    return {
      rows: result.rows,
      ...(result.affectedRows ? { numAffectedRows: BigInt(result.affectedRows) } : {}),
    };
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    const owner = connection as PgliteConnection;
    while (this.open) await this.open.ended;
    // Taken in the same turn of the event loop as the check, before BEGIN is posted.
    let release = () => {};
    const ended = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.open = { owner, ended, release };
    const modes = [
      settings.isolationLevel && `isolation level ${settings.isolationLevel}`,
      settings.accessMode,
    ].filter(Boolean);
    try {
      await this.run(owner, CompiledQuery.raw(`start transaction ${modes.join(', ')}`));
    } catch (err) {
      this.end(owner);
      throw err;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.finish(connection as PgliteConnection, 'commit');
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await this.finish(connection as PgliteConnection, 'rollback');
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // A connection released inside its transaction (Kysely never does) must not hold the session.
    this.end(connection as PgliteConnection);
  }

  async destroy(): Promise<void> {
    await this.client.close();
  }

  private async finish(owner: PgliteConnection, command: 'commit' | 'rollback') {
    try {
      await this.run(owner, CompiledQuery.raw(command));
    } finally {
      this.end(owner);
    }
  }

  private end(owner: PgliteConnection): void {
    const open = this.open;
    if (open?.owner !== owner) return;
    this.open = undefined;
    open.release();
  }
}

class PgliteConnection implements DatabaseConnection {
  constructor(private readonly driver: PgliteDriver) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.run(this, query) as Promise<QueryResult<R>>;
  }

  /** One chunk holds every row. */
  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    yield (await this.driver.run(this, query)) as QueryResult<R>;
  }
}
