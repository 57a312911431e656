/**
 * The embedded database off the event loop (issue 20): PGlite (PostgreSQL compiled to
 * WebAssembly) runs in a worker thread, and the server's thread only posts queries and receives
 * rows. A query on the embedded default no longer stalls request parsing, token checks or
 * `/health/live`. The object answers the two calls the dialect (pglite-dialect.ts) makes (`query`,
 * `close`); the thread answers queries in the order they were posted.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** What the Kysely dialect uses of a PGlite client. */
export interface PgliteClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; affectedRows?: number }>;
  close(): Promise<void>;
}

type Reply =
  | { id: number; rows: unknown[]; affectedRows?: number }
  | { id: number; error: Record<string, unknown> & { message: string } }
  | { id: number; closed: true };

/**
 * The worker, as source: an eval'd worker needs no file beside the compiled code, and it imports
 * PGlite from the URL the server's own resolution found. Errors travel as plain fields (code,
 * detail, constraint...) and are rebuilt as Errors on this side.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { PGlite, protocol } = await import(workerData.pgliteUrl);
  const { serialize } = protocol;
  const options = { postgresqlconf: workerData.postgresqlconf };
  const db = workerData.dataDir ? new PGlite(workerData.dataDir, options) : new PGlite(options);
  await db.waitReady;
  if (workerData.initOnly) {
    await db.close();
    parentPort.postMessage({ ready: true });
    return;
  }

  // PGlite's own query() makes six calls into the database per query (parse, describe, bind,
  // describe, execute, sync), plans each one afresh and copies its table of 316 type parsers for
  // every result: ~400 µs for a primary-key lookup. Here each statement text is prepared once
  // (named, so PostgreSQL keeps and reuses its plan) with its parameter and column types, and a
  // query is one call: bind, execute, sync. Values are serialized and parsed by PGlite's own
  // functions for each type, as its query() does.
  const statements = new Map();
  const MAX_STATEMENTS = 1000;
  let nextStatement = 1;
  const concat = (parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const prepare = async (text) => {
    if (statements.size >= MAX_STATEMENTS) {
      // Statement texts are few (Kysely builds them from code); this bounds odd cases.
      const closes = [...statements.values()].map((st) => serialize.close({ type: 'S', name: st.name }));
      statements.clear();
      await db.execProtocol(concat([...closes, serialize.sync()]));
    }
    const name = 'bastion_' + nextStatement++;
    const { messages } = await db.execProtocol(
      concat([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]),
    );
    const types = messages.find((x) => x.name === 'parameterDescription')?.dataTypeIDs ?? [];
    const columns = messages.find((x) => x.name === 'rowDescription')?.fields ?? [];
    const fields = columns.map((f) => [f.name, f.dataTypeID, db.parsers[f.dataTypeID]]);
    const statement = { name, types, fields };
    statements.set(text, statement);
    return statement;
  };
  const query = async (text, params, retried = false) => {
    const statement = statements.get(text) ?? (await prepare(text));
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null;
      const serializer = db.serializers[statement.types[i]];
      return serializer ? serializer(v) : v.toString();
    });
    let messages;
    try {
      ({ messages } = await db.execProtocol(
        concat([
          serialize.bind({ statement: statement.name, values }),
          serialize.execute({}),
          serialize.sync(),
        ]),
      ));
    } catch (e) {
      // A table's columns changed under a prepared statement ("cached plan must not change
      // result type"): it is prepared afresh, and run again unless a transaction saw the error.
      if (e && e.code === '0A000' && statements.get(text) === statement) {
        statements.delete(text);
        await db.execProtocol(concat([serialize.close({ type: 'S', name: statement.name }), serialize.sync()]));
        if (!retried && !db.isInTransaction()) return query(text, params, true);
      }
      throw e;
    }
    const rows = [];
    let affectedRows = 0;
    for (const msg of messages) {
      if (msg.name === 'dataRow') {
        const row = {};
        for (let i = 0; i < statement.fields.length; i++) {
          const [name, type, parser] = statement.fields[i];
          const raw = msg.fields[i];
          row[name] = raw === null ? null : parser ? parser(raw, type) : raw;
        }
        rows.push(row);
      } else if (msg.name === 'commandComplete') {
        const words = msg.text.split(' ');
        if (words[0] === 'INSERT') affectedRows += Number.parseInt(words[2], 10);
        else if (['UPDATE', 'DELETE', 'COPY', 'MERGE'].includes(words[0])) {
          affectedRows += Number.parseInt(words[1], 10);
        }
      }
    }
    return { rows, affectedRows };
  };

  // One message at a time: a query's calls into the database never interleave with another's.
  let chain = Promise.resolve();
  parentPort.on('message', (m) => {
    // handle() answers every query, failed or not; only a failing close can reject here.
    chain = chain
      .then(() => handle(m))
      .catch((e) => parentPort.postMessage({ id: m.id, error: { message: String((e && e.message) || e) } }));
  });
  const handle = async (m) => {
    if (m.close) {
      await db.close();
      parentPort.postMessage({ id: m.id, closed: true });
      return;
    }
    try {
      const r = await query(m.sql, m.params);
      parentPort.postMessage({ id: m.id, rows: r.rows, affectedRows: r.affectedRows });
    } catch (e) {
      const error = { message: String((e && e.message) || e) };
      for (const k of Object.keys(e || {})) {
        const v = e[k];
        if (v === undefined || v === null || typeof v !== 'object') error[k] = v;
      }
      parentPort.postMessage({ id: m.id, error });
    }
  };
  parentPort.postMessage({ ready: true });
})().catch((e) => parentPort.postMessage({ fatal: String((e && e.stack) || e) }));
`;

/** Where this process resolves PGlite (the worker imports the same copy, by URL). */
const PGLITE_URL = pathToFileURL(
  createRequire(import.meta.url).resolve('@electric-sql/pglite'),
).href;

/**
 * PostgreSQL settings for the embedded database (issue 17: memory). 16 MB of shared buffers
 * instead of 128 MB: PGlite's files are read through the OS, whose page cache already holds the
 * hot pages, so a large buffer pool mostly caches them twice. Measured on a bare PGlite with a
 * 20,000-row table: 278 -> 162 MB RSS after start, 317 -> 172 MB after 2,000 reads.
 */
const POSTGRESQL_CONF = ['shared_buffers=16MB'];

/** Starts PGlite on `dataDir` (undefined: in memory) in its own thread; resolves once ready. */
export async function startPgliteThread(dataDir: string | undefined): Promise<PgliteClient> {
  if (dataDir !== undefined && !existsSync(join(dataDir, 'PG_VERSION'))) {
    // A new data directory: initdb runs in a thread of its own that then ends, so the memory it
    // used (800-900 MB at its peak) goes back to the OS instead of staying with the server.
    await stopWhenReady(spawnWorker(dataDir, true));
  }
  const worker = spawnWorker(dataDir, false);
  const pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
  let nextId = 1;
  let failure: Error | undefined;

  const failAll = (err: Error) => {
    failure = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  await whenReady(worker);

  // Like PGlite itself, an idle database does not keep the process alive; a query in flight does.
  worker.unref();
  worker.on('message', (m: Reply) => {
    const waiter = pending.get(m.id);
    if (!waiter) return;
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    waiter.resolve(m);
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', (code) => failAll(new Error(`embedded database thread exited (${code})`)));

  const call = (message: Record<string, unknown>) =>
    new Promise<Reply>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });

  return {
    async query(sql, params = []) {
      const reply = await call({ sql, params });
      if ('error' in reply) throw Object.assign(new Error(reply.error.message), reply.error);
      if ('rows' in reply) return { rows: reply.rows, affectedRows: reply.affectedRows };
      throw new Error('embedded database: unexpected reply');
    },
    async close() {
      if (!failure) await call({ close: true });
      await worker.terminate();
    },
  };
}

function spawnWorker(dataDir: string | undefined, initOnly: boolean): Worker {
  return new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { dataDir, pgliteUrl: PGLITE_URL, postgresqlconf: POSTGRESQL_CONF, initOnly },
  });
}

/** Resolves when the worker's database is ready; on failure the worker is ended and it rejects. */
async function whenReady(worker: Worker): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: { ready?: true; fatal?: string }) => {
      if (m.ready) {
        worker.off('error', reject);
        resolve();
      } else if (m.fatal) {
        reject(new Error(`embedded database failed to start: ${m.fatal}`));
      }
    };
    worker.once('message', onMessage);
    worker.once('error', reject);
  }).catch(async (err) => {
    await worker.terminate();
    throw err;
  });
}

async function stopWhenReady(worker: Worker): Promise<void> {
  await whenReady(worker);
  await worker.terminate();
}
