import { PGlite } from '@electric-sql/pglite';
const db = new PGlite();
await db.waitReady;
console.log(Object.keys(db.parsers).length, Object.keys(db.serializers).length);
const N=2000; let t=performance.now(); for(let i=0;i<N;i++){ const m={...db.parsers}; } console.log('spread', ((performance.now()-t)/N*1000).toFixed(1),'µs');
