import { PGlite } from '@electric-sql/pglite';
const db = new PGlite();
await db.waitReady;
for (let i = 0; i < 20000; i++) await db.exec('select 1');
