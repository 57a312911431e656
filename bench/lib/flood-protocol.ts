/** What bench/flood.ts and its flood client (bench/lib/flood-client.ts) exchange. */

export interface FloodOptions {
  readonly origin: string;
  readonly seconds: number;
  readonly connections: number;
  /** How many distinct accounts the flood tries (plus the legitimate user's). */
  readonly accounts: number;
  /** How many distinct client addresses the flood comes from. */
  readonly addresses: number;
  /** The legitimate user's email: a share of the guesses target it. */
  readonly victim: string;
  /** 0..1: share of guesses against the victim. */
  readonly victimShare: number;
}

export interface FloodResult {
  readonly requests: number;
  readonly seconds: number;
  /** Responses by HTTP status. */
  readonly statuses: Record<string, number>;
  readonly socketErrors: number;
  readonly timeouts: number;
}

/** The client prints its result as one line: this prefix, then JSON. */
export const RESULT_PREFIX = 'FLOOD_RESULT ';

/** Printed by the client right before it opens its connections. */
export const STARTED_LINE = 'FLOOD_STARTED';
