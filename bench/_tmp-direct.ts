import { PGlite } from '@electric-sql/pglite';
const db = new PGlite();
await db.waitReady;
await db.query('create table u (id uuid primary key, email text, display_name text, created_at timestamptz default now())');
const ids: string[] = [];
for (let i = 0; i < 1000; i++) { const id = crypto.randomUUID(); ids.push(id); await db.query('insert into u (id,email,display_name) values ($1,$2,$3)', [id, `u${i}@x.test`, 'N']); }
const q = 'select id, email, display_name, created_at from u where id = $1';
const N = 3000;
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  for (let i = 0; i < N; i++) await db.query(q, [ids[i % 1000]]);
  const a = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) await db.query('select 1');
  const b = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) await db.exec('select 1');
  const c = (performance.now() - t) / N * 1000;
  console.log(`query(pk) ${a.toFixed(0)} µs, query(select 1) ${b.toFixed(0)} µs, exec(select 1) ${c.toFixed(0)} µs`);
}
