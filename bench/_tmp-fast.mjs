import { PGlite, protocol, parse, types } from '@electric-sql/pglite';
const { serialize } = protocol;
const db = new PGlite();
await db.waitReady;
await db.query('create table u (id uuid primary key, email text, display_name text, n int8, j jsonb, created_at timestamptz default now())');
const ids = [];
for (let i = 0; i < 1000; i++) { const id = crypto.randomUUID(); ids.push(id); await db.query('insert into u (id,email,display_name,n,j) values ($1,$2,$3,$4,$5)', [id, `u${i}@x.test`, 'N', i, {a:[i]}]); }
const paramTypes = new Map();
function concat(parts) { let n = 0; for (const p of parts) n += p.length; const out = new Uint8Array(n); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; } return out; }
async function fastQuery(text, params = []) {
  let oids = paramTypes.get(text);
  if (!oids) {
    const r = await db.execProtocol(concat([serialize.parse({ text }), serialize.describe({ type: 'S' }), serialize.sync()]));
    oids = parse.parseDescribeStatementResults(r.messages);
    paramTypes.set(text, oids);
  }
  const values = params.map((v, i) => { if (v == null) return null; const s = db.serializers[oids[i]]; return s ? s(v) : v.toString(); });
  const r = await db.execProtocol(concat([serialize.parse({ text }), serialize.bind({ values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]));
  return parse.parseResults(r.messages, db.parsers)[0];
}
const q = 'select id, email, display_name, n, j, created_at from u where id = $1';
console.log(JSON.stringify(await fastQuery(q, [ids[3]])), JSON.stringify((await db.query(q, [ids[3]]))));
const N = 5000;
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  for (let i = 0; i < N; i++) await db.query(q, [ids[i % 1000]]);
  const a = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) await fastQuery(q, [ids[i % 1000]]);
  const b = (performance.now() - t) / N * 1000;
  console.log(`query ${a.toFixed(0)} µs, fast ${b.toFixed(0)} µs`);
}
try { await fastQuery('insert into u (id) values ($1)', [ids[0]]); } catch (e) { console.log('error', e.constructor.name, e.code, e.constraint, e.message); }
console.log(await fastQuery('select 1 as x'));
console.log(await fastQuery('update u set n = n + 1 where n < $1', [3]));
{
  const values = [ids[5]];
  const buf = concat([serialize.parse({ text: q }), serialize.bind({ values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]);
  const simple = serialize.query(`select id, email, display_name, n, j, created_at from u where id = '${ids[5]}'`);
  const s1 = serialize.query('select 1');
  for (const [name, b] of [['extended pk', buf], ['simple pk', simple], ['select 1', s1]]) {
    let t = performance.now();
    for (let i = 0; i < N; i++) db.execProtocolRawSync(b);
    console.log(name, ((performance.now() - t) / N * 1000).toFixed(0), 'µs rawSync');
  }
  let t = performance.now();
  for (let i = 0; i < N; i++) await db.execProtocol(buf);
  console.log('execProtocol pk', ((performance.now() - t) / N * 1000).toFixed(0));
  t = performance.now();
  for (let i = 0; i < N; i++) await db.execProtocolRaw(buf);
  console.log('execProtocolRaw pk', ((performance.now() - t) / N * 1000).toFixed(0));
}
{
  const parts = { ser: 0, exec: 0, parse: 0 };
  for (let i = 0; i < N; i++) {
    let t = performance.now();
    const values = [ids[i % 1000]];
    const buf = concat([serialize.parse({ text: q }), serialize.bind({ values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]);
    let t2 = performance.now(); parts.ser += t2 - t;
    const r = await db.execProtocol(buf);
    let t3 = performance.now(); parts.exec += t3 - t2;
    parse.parseResults(r.messages, db.parsers);
    parts.parse += performance.now() - t3;
  }
  for (const k in parts) console.log(k, (parts[k] / N * 1000).toFixed(0), 'µs');
}
{
  const values = [ids[5]];
  const buf = concat([serialize.parse({ text: q }), serialize.bind({ values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]);
  for (const sync of [true, false]) {
    let t = performance.now();
    for (let i = 0; i < N; i++) await db.execProtocolRaw(buf, { syncToFs: sync });
    console.log('raw syncToFs', sync, ((performance.now() - t) / N * 1000).toFixed(0));
  }
  let t = performance.now();
  for (let i = 0; i < N; i++) db.execProtocolRawSync(buf);
  console.log('rawSync', ((performance.now() - t) / N * 1000).toFixed(0));
  const msgs = (await db.execProtocol(buf)).messages;
  t = performance.now();
  for (let i = 0; i < N; i++) parse.parseResults(msgs, db.parsers);
  console.log('parseResults', ((performance.now() - t) / N * 1000).toFixed(1));
  const raw = await db.execProtocolRaw(buf);
  const P = new protocol.Parser();
  t = performance.now();
  for (let i = 0; i < N; i++) { const out = []; P.parse(raw, (m) => out.push(m)); }
  console.log('protocol parse', ((performance.now() - t) / N * 1000).toFixed(1));
}
