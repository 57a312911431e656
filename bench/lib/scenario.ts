/** A benchmark scenario: one Bastion route measured against a bare-Fastify baseline route. */
import type { LoadRequest } from './load.js';
import type { ServerHandle } from './server.js';

export interface ScenarioContext {
  readonly bastion: ServerHandle;
  readonly bare: ServerHandle;
}

/** How each side's requests look, when not a plain GET (e.g. a bearer token for Bastion). */
export interface ScenarioRequests {
  readonly bastion?: LoadRequest;
  readonly bare?: LoadRequest;
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
  /** Runs once after both servers listen (create a user, log in, ...). */
  readonly setup?: (ctx: ScenarioContext) => Promise<ScenarioRequests | undefined>;
}
