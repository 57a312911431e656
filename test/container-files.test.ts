/**
 * Docker does not run on these machines, so the image and the compose topology are checked
 * statically, hadolint-style: what would make the image unsafe or unpinned fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SECRET_SETTINGS } from '../src/config.js';

const ROOT = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

const dockerfile = instructions(read('Dockerfile'));
const stages = dockerfile.reduce<{ op: string; args: string }[][]>((acc, ins) => {
  if (ins.op === 'FROM') acc.push([]);
  acc.at(-1)?.push(ins);
  return acc;
}, []);
const finalStage = stages.at(-1) ?? [];
const packageJson = JSON.parse(read('package.json')) as { scripts: { start: string } };
const SECRETISH = /SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIAL|_URL$/i;

describe('Dockerfile', () => {
  it('is multi-stage, every base image pinned to a version (or digest), never latest', () => {
    const froms = dockerfile
      .filter((i) => i.op === 'FROM')
      .map((i) => i.args.split(/\s+/)[0] ?? '');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const image of froms) {
      expect(image).not.toMatch(/:latest\b/);
      expect(image).toMatch(/@sha256:[0-9a-f]{64}$|:\d+\.\d+\.\d+[\w.-]*$/);
      expect(image).toMatch(/^node:24\./);
    }
  });

  it('runs the final stage as a non-root user', () => {
    const users = finalStage.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
  });

  it('has a HEALTHCHECK on /health/ready', () => {
    const health = finalStage.find((i) => i.op === 'HEALTHCHECK');
    expect(health?.args).toContain('/health/ready');
  });

  it('runs compiled JavaScript under an init, with NODE_ENV=production and DATA_DIR=/data', () => {
    // The image runs what `npm start` runs (node flags included), as JSON (exec form: no shell).
    const start = /^exec (node .+)$/.exec(packageJson.scripts.start)?.[1];
    expect(start).toMatch(/dist\/src\/main\.js$/);
    expect(JSON.parse(finalStage.find((i) => i.op === 'CMD')?.args ?? '[]')).toEqual(
      start?.split(' '),
    );
    expect(finalStage.find((i) => i.op === 'ENTRYPOINT')?.args).toMatch(/tini/);
    const env = finalStage
      .filter((i) => i.op === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/NODE_ENV=production/);
    expect(env).toMatch(/DATA_DIR=\/data/);
    expect(finalStage.find((i) => i.op === 'VOLUME')?.args).toContain('/data');
  });

  it('puts no secret in a layer: no ENV/ARG with a secret-like name holding a value', () => {
    for (const { op, args } of dockerfile.filter((i) => i.op === 'ENV' || i.op === 'ARG')) {
      for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=|\s+)("[^"]*"|\S+)?/g)) {
        const [, name = '', value] = m;
        if (SECRETISH.test(name) || SECRET_SETTINGS.includes(name))
          expect(value, `${op} ${name}`).toBeUndefined();
      }
    }
  });

  it('copies no .env file, no secrets directory and not the whole context unfiltered', () => {
    for (const { args } of dockerfile.filter((i) => i.op === 'COPY' || i.op === 'ADD')) {
      expect(args).not.toMatch(/(^|\s|\/)\.env\b/);
      expect(args).not.toMatch(/secrets/);
    }
    const ignore = read('.dockerignore').split('\n');
    for (const entry of ['.env', 'secrets/', 'data/', 'node_modules/', '.git'])
      expect(ignore).toContain(entry);
  });

  it('ships no dev dependencies: the build stage prunes them', () => {
    const build = (stages[0] ?? []).map((i) => i.args).join('\n');
    expect(build).toMatch(/npm ci/);
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm prune --omit=dev/);
  });
});

interface Service {
  image?: string;
  build?: unknown;
  read_only?: boolean;
  tmpfs?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  networks?: Record<string, { ipv4_address?: string }> | string[];
}

const compose = parse(read('compose.yaml'), { merge: true }) as {
  services: Record<string, Service>;
  secrets: Record<string, { file?: string; environment?: string }>;
};
const services = Object.entries(compose.services);

describe('compose.yaml', () => {
  it('has PostgreSQL, Redis, two Bastion instances and Caddy in front', () => {
    expect(compose.services.postgres?.image).toMatch(/^postgres:/);
    expect(compose.services.redis?.image).toMatch(/^redis:/);
    expect(compose.services.caddy?.image).toMatch(/^caddy:/);
    expect(compose.services['bastion-a']?.build).toBeDefined();
    expect(compose.services['bastion-b']?.build).toBeDefined();
    const caddyfile = read('deploy/caddy/Caddyfile');
    expect(caddyfile).toMatch(/reverse_proxy\s+bastion-a:3000\s+bastion-b:3000/);
  });

  it('pins every image to a version', () => {
    for (const [name, s] of services) {
      if (!s.image || s.build) continue;
      expect(s.image, name).not.toMatch(/:latest\b/);
      expect(s.image, name).toMatch(/@sha256:|:\d+\.\d+(\.\d+)?[\w.-]*$/);
    }
  });

  it('runs every service on a read-only root filesystem with a tmpfs /tmp', () => {
    for (const [name, s] of services) {
      expect(s.read_only, name).toBe(true);
      expect(s.tmpfs, name).toContain('/tmp');
    }
  });

  it('gives each instance a writable /data volume and production settings', () => {
    for (const name of ['bastion-a', 'bastion-b']) {
      const s = compose.services[name];
      expect(
        s?.volumes?.some((v) => v.endsWith(':/data')),
        name,
      ).toBe(true);
      expect(s?.environment?.NODE_ENV).toBe('production');
      expect(s?.environment?.PUBLIC_URL).toMatch(/^https:\/\//);
    }
  });

  it('trusts X-Forwarded-* from the proxy only', () => {
    const caddy = compose.services.caddy?.networks as Record<string, { ipv4_address?: string }>;
    const proxyAddress = Object.values(caddy ?? {})[0]?.ipv4_address;
    expect(proxyAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    for (const name of ['bastion-a', 'bastion-b'])
      expect(compose.services[name]?.environment?.TRUST_PROXY).toBe(proxyAddress);
  });

  it('gives the instances the app role through secret files, and migrations the owner', () => {
    for (const name of ['bastion-a', 'bastion-b']) {
      const env = compose.services[name]?.environment ?? {};
      expect(env.DATABASE_URL_FILE).toBe('/run/secrets/app_database_url');
      expect(compose.services[name]?.secrets).toContain('app_database_url');
      expect(compose.services[name]?.secrets).not.toContain('owner_database_url');
      expect(env.KEY_ENCRYPTION_KEY_FILE).toBeDefined();
      expect(env.REDIS_URL_FILE).toBeDefined();
    }
    expect(compose.services.migrate?.environment?.DATABASE_URL_FILE).toBe(
      '/run/secrets/owner_database_url',
    );
    expect(read('deploy/postgres/10-roles.sh')).toMatch(/CREATE ROLE bastion_app LOGIN/);
  });

  it('holds no secret value: secret settings come only as *_FILE, secrets only from files', () => {
    for (const [name, s] of services) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (key.endsWith('_FILE')) {
          expect(value, `${name} ${key}`).toMatch(/^\/run\/secrets\//);
          continue;
        }
        expect(SECRET_SETTINGS.includes(key), `${name} ${key}`).toBe(false);
        expect(SECRETISH.test(key) && key !== 'PUBLIC_URL', `${name} ${key}`).toBe(false);
      }
    }
    for (const [name, secret] of Object.entries(compose.secrets))
      expect(secret.file, name).toMatch(/^\.\/secrets\//);
    expect(read('.gitignore').split('\n')).toContain('secrets/');
  });
});
