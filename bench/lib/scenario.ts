/** A benchmark scenario: one Bastion route measured against a bare-Fastify baseline route. */
import type { LoadRequest } from './load.js';
import type { ServerHandle } from './server.js';

export interface ScenarioContext {
  readonly bastion: ServerHandle;
  readonly bare: ServerHandle;
  /** Starts another bench/servers entry, placed like the other two (the runner's, not --profile). */
  readonly start?: (
    name: string,
    file: string,
    env: Record<string, string>,
  ) => Promise<ServerHandle>;
}

/** How each side's requests look, when not a plain GET (e.g. a bearer token for Bastion). */
export interface ScenarioRequests {
  readonly bastion?: LoadRequest;
  readonly bare?: LoadRequest;
  /** Paths known only after setup (e.g. the id of a user it created); else the scenario's. */
  readonly bastionPath?: string;
  readonly barePath?: string;
  /** Measure this server (started by the setup) as side B instead of Bastion; stopped after. */
  readonly server?: ServerHandle;
}

export interface Scenario {
  readonly name: string;
  /** One line: what the Bastion side does per request. */
  readonly description: string;
  readonly bastionPath: string;
  /** The bare server serves only `/health/live`; later baselines add routes to servers/bare.ts. */
  readonly barePath: string;
  /** Status every measured response must have (checked once before load); 200 when unset. */
  readonly expectStatus?: number;
  /** Left out of a plain `npm run bench` (kept under ~90 s); run with --scenario <name> or --all. */
  readonly optional?: boolean;
  /** B/A requests/s the issue asks for (0.65 when unset); null: a comparison without a target. */
  readonly target?: number | null;
  /**
   * The servers' database: PGlite (default) or PostgreSQL (a fresh database the runner creates
   * from DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres, and drops after;
   * both sides get it as BENCH_DATABASE_URL).
   */
  readonly database?: 'pglite' | 'postgres';
  /** Runs once after both servers listen (create a user, log in, ...). */
  readonly setup?: (ctx: ScenarioContext) => Promise<ScenarioRequests | undefined>;
}
