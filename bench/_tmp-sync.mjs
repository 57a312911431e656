import { PGlite } from '@electric-sql/pglite';
const db = new PGlite();
await db.waitReady;
function simple(sql) { const b = Buffer.from(sql + '\0'); const m = Buffer.alloc(5 + b.length); m[0] = 0x51; m.writeInt32BE(4 + b.length, 1); b.copy(m, 5); return new Uint8Array(m); }
const msg = simple('select 1');
const N = 20000;
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  for (let i = 0; i < N; i++) db.execProtocolRawSync(msg);
  const a = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) await db.execProtocolRaw(msg);
  const b = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) await db.exec('select 1');
  const c = (performance.now() - t) / N * 1000;
  console.log(`rawSync ${a.toFixed(1)} µs, raw async ${b.toFixed(1)} µs, exec ${c.toFixed(1)} µs`);
}
