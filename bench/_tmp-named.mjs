import { PGlite, protocol } from '@electric-sql/pglite';
const { serialize } = protocol;
const db = new PGlite();
await db.waitReady;
await db.query('create table u (id uuid primary key, email text, display_name text, n int8, j jsonb, created_at timestamptz default now())');
const ids = [];
for (let i = 0; i < 1000; i++) { const id = crypto.randomUUID(); ids.push(id); await db.query('insert into u (id,email,display_name,n,j) values ($1,$2,$3,$4,$5)', [id, `u${i}@x.test`, 'N', i, {a:[i]}]); }
function concat(parts) { let n = 0; for (const p of parts) n += p.length; const out = new Uint8Array(n); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; } return out; }
const q = 'select id, email, display_name, n, j, created_at from u where id = $1';
db.execProtocolRawSync(concat([serialize.parse({ name: 's1', text: q }), serialize.sync()]));
const N = 5000;
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  for (let i = 0; i < N; i++) db.execProtocolRawSync(concat([serialize.parse({ text: q }), serialize.bind({ values: [ids[i%1000]] }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]));
  const a = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) db.execProtocolRawSync(concat([serialize.bind({ statement: 's1', values: [ids[i%1000]] }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]));
  const b = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) db.execProtocolRawSync(serialize.query('select 1'));
  const c = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) db.execProtocolRawSync(concat([serialize.sync()]));
  const d = (performance.now() - t) / N * 1000;
  console.log(`unnamed ${a.toFixed(0)} µs, named ${b.toFixed(0)} µs, select1 ${c.toFixed(0)}, sync only ${d.toFixed(0)}`);
}
