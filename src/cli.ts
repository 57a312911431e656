/**
 * The bastion CLI: migrate, keys rotate, user create, doctor. It opens the same database the
 * server uses; an embedded database in use by a running server is refused, not shared.
 */
import { parseArgs } from 'node:util';
import { uuidv7 } from 'uuidv7';
import { normalizeDisplayName, normalizeEmail } from './auth/accounts/email.js';
import {
  createSigningKey,
  DEFAULT_PUBLISH_LEAD_SECONDS,
  KEYS_CHANGED_CHANNEL,
} from './auth/keys/keyring.js';
import { createPasswordHasher } from './auth/passwords/hasher.js';
import { createPasswordPolicy, normalizePassword } from './auth/passwords/policy.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { probe } from './doctor-checks.js';
import { type AuditChain, appendAudit } from './platform/audit/audit.store.js';
import { deriveKey } from './platform/crypto.js';
import { DataDirInUseError } from './platform/db/data-dir-lock.js';
import { migrateToLatest, openDatabase } from './platform/db/database.js';
import { grantAppRole, roleOfUrl } from './platform/db/grants.js';
import { openDeps } from './platform/deps.js';
import { diagnose } from './platform/doctor.js';
import { createHashPool } from './platform/hash-pool.js';
import { emitLifecycle } from './platform/lifecycle/lifecycle.js';
import { loadMasterKey } from './platform/master-key.js';

const USAGE = `usage: bastion <command>

  migrate                               apply pending database migrations (as the owner
                                        role of MIGRATION_DATABASE_URL when set, then grant
                                        DATABASE_URL's role its privileges)
  keys rotate                           create a new signing key (published before it signs)
  user create --email E [--role R]...   create a verified account; password read from stdin
              [--name N]
  doctor                                check this configuration and what it names (the
                                        database, Redis, SMTP, signing keys, clock) and say
                                        what to fix; exits 1 on any FIX line
`;

const out = (line: string) => process.stdout.write(`${line}\n`);
const stderrLog = {
  info: () => {},
  warn: (_obj: object, msg: string) => process.stderr.write(`warning: ${msg}\n`),
  error: (_obj: object, msg: string) => process.stderr.write(`error: ${msg}\n`),
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline (from `echo` or a here-string) is not part of the password.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function withDatabase<T>(
  config: Config,
  fn: (deps: Awaited<ReturnType<typeof openDeps>>) => Promise<T>,
) {
  const deps = await openDeps(config);
  try {
    await migrateToLatest(deps.database.db);
    return await fn(deps);
  } finally {
    await deps.close();
  }
}

async function migrate(config: Config): Promise<void> {
  if (config.migrationDatabaseUrl) return migrateAsOwner(config, config.migrationDatabaseUrl);
  const deps = await openDeps(config);
  try {
    const applied = await migrateToLatest(deps.database.db);
    out(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await deps.close();
  }
}

/**
 * MIGRATION_DATABASE_URL: migrate as the owner role, then grant DATABASE_URL's role (the app
 * role) what the server needs, no more (src/platform/db/grants.ts).
 */
async function migrateAsOwner(config: Config, ownerUrl: string): Promise<void> {
  const appRole = config.databaseUrl ? roleOfUrl(config.databaseUrl) : undefined;
  if (!appRole) throw new UsageError('DATABASE_URL must name the app role (postgres://ROLE@…)');
  const database = await openDatabase({ url: ownerUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    const applied = await migrateToLatest(database.db);
    out(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    if (appRole === roleOfUrl(ownerUrl)) {
      process.stderr.write(
        'warning: DATABASE_URL and MIGRATION_DATABASE_URL name the same role; no grants made\n',
      );
      return;
    }
    await grantAppRole(database.db, appRole);
    out(`granted ${appRole}: rows read and written, audit_log and ledger_entries append-only`);
  } finally {
    await database.close();
  }
}

async function rotateKeys(config: Config): Promise<void> {
  await withDatabase(config, async ({ database, state }) => {
    const activatesAt = new Date(Date.now() + DEFAULT_PUBLISH_LEAD_SECONDS * 1000);
    const kid = await createSigningKey(
      database.db,
      loadMasterKey(config, stderrLog),
      config.jwt.alg,
      activatesAt,
      config.jwt.accessTokenTtlSeconds + config.jwt.clockToleranceSeconds,
    );
    // Running instances reload at once through pub/sub (Redis), or within a minute.
    await state.publish(KEYS_CHANGED_CHANNEL, kid);
    out(`new ${config.jwt.alg} key ${kid}: published now, signs from ${activatesAt.toISOString()}`);
  });
}

async function createUser(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: 'string' },
      role: { type: 'string', multiple: true },
      name: { type: 'string' },
    },
  });
  const email = values.email ? normalizeEmail(values.email) : null;
  if (!email) throw new UsageError('--email must be a valid email address');
  const roles = values.role ?? [];
  for (const role of roles) {
    if (role !== 'admin' && role !== 'moderator')
      throw new UsageError(`unknown role ${role} (admin, moderator)`);
  }
  const displayName = normalizeDisplayName(values.name ?? email.localPart);
  if (!displayName) throw new UsageError('--name must be 1 to 100 visible characters');
  if (process.stdin.isTTY) process.stderr.write('password (end with Ctrl-D): ');
  const password = normalizePassword(await readStdin());
  const policy = await createPasswordPolicy(config.password);
  const verdict = policy.check(password, { email: email.email, displayName });
  if (!verdict.ok)
    throw new UsageError(`weak password (${verdict.rule}): ${verdict.suggestions.join(' ')}`);

  await withDatabase(config, async ({ database, state }) => {
    // Audited like every other account change (issue 19): the chain's key comes from the master
    // key, as in the server; there is no acting account (the operator at the shell).
    const audit: AuditChain = {
      key: deriveKey(loadMasterKey(config, stderrLog), 'audit-chain'),
      state,
      log: stderrLog,
    };
    const hasher = await createPasswordHasher(
      config.argon2,
      createHashPool({ concurrency: 1, queue: 1 }),
    );
    const now = new Date();
    const passwordHash = await hasher.hash(password);
    const row = await database.db.transaction().execute(async (trx) => {
      const created = await trx
        .insertInto('users')
        .values({
          id: uuidv7(),
          email: email.email,
          email_key: email.key,
          display_name: displayName,
          password_hash: passwordHash,
          roles: [...new Set(roles)],
          email_verified_at: now,
          avatar_url: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('email_key').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (created) {
        const data = { email: email.email, displayName, roles: [...new Set(roles)], via: 'cli' };
        await emitLifecycle(trx, { type: 'user.created', userId: created.id, data });
        const detail = { roles: [...new Set(roles)], via: 'cli' };
        await appendAudit(
          audit,
          trx,
          {
            actorId: null,
            action: 'cli.user.created',
            targetType: 'user',
            targetId: created.id,
            detail,
          },
          now,
        );
      }
      return created;
    });
    if (!row) throw new UsageError('an account with this email already exists');
    out(`created user ${row.id}${roles.length ? ` with roles ${roles.join(', ')}` : ''}`);
  });
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    out(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  switch (`${command} ${sub ?? ''}`.trim()) {
    case 'migrate':
      await migrate(config);
      return 0;
    case 'keys rotate':
      await rotateKeys(config);
      return 0;
    case 'user create':
      await createUser(config, rest);
      return 0;
    case 'doctor': {
      // The configuration first, then what it names, for real (connections, keys, clock).
      const findings = [...diagnose(config), ...(await probe(config))];
      const label = { ok: 'ok  ', warning: 'WARN', error: 'FIX ' } as const;
      for (const f of findings) out(`${label[f.level]} ${f.setting}: ${f.message}`);
      if (!findings.some((f) => f.level !== 'ok')) out('no problems found');
      return findings.some((f) => f.level === 'error') ? 1 : 0;
    }
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (
      err instanceof ConfigError ||
      err instanceof DataDirInUseError ||
      err instanceof UsageError
    ) {
      process.stderr.write(`bastion: ${err.message}\n`);
    } else {
      process.stderr.write(`bastion: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    process.exit(1);
  },
);
