/**
 * Preloaded into a server under `bench/ops.ts` (`node --import ./bench/lib/count-ops.mjs ...`):
 * counts every statement the process sends to PostgreSQL through `pg` (BEGIN and COMMIT
 * included) and every command it sends to Redis through ioredis (each command of a pipeline or
 * script call once), by name. On SIGUSR2 it writes the counts as JSON to $COUNT_OPS_FILE.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(`${process.cwd()}/package.json`);
const pg = require('pg');
const Redis = require('ioredis');
const counts = { pg: {}, redis: {} };
const bump = (table, key) => {
  table[key] = (table[key] ?? 0) + 1;
};

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(config, ...rest) {
  const text = typeof config === 'string' ? config : config?.text;
  if (typeof text === 'string') {
    const verb = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase() ?? '?';
    const table = /\b(?:from|into|update)\s+"?(\w+)"?/i.exec(text)?.[1];
    bump(counts.pg, table ? `${verb} ${table}` : verb);
  }
  return query.call(this, config, ...rest);
};

const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function countedCommand(command, ...rest) {
  bump(counts.redis, String(command?.name ?? '?').toLowerCase());
  return sendCommand.call(this, command, ...rest);
};

process.on('SIGUSR2', () => {
  writeFileSync(process.env.COUNT_OPS_FILE ?? '/dev/stderr', JSON.stringify(counts));
});
