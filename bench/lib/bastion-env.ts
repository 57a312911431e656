/**
 * The environment the Bastion child is configured from (not the caller's shell, so a stray
 * DATABASE_URL cannot change what is measured). Development defaults, as `npm start` runs, with
 * CORS_ORIGINS set so the CORS plugin is registered too.
 */
export const BENCH_GLOBAL_RATE_LIMIT = 10_000_000;
/** The revocation feed's credential for the verify-kit scenario's resource server. */
export const BENCH_SERVICE_TOKEN = `bench-service-${'s'.repeat(32)}`;

export const BASTION_BENCH_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'development',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  CORS_ORIGINS: 'https://app.bench.invalid',
  // All load comes from one address; the per-IP global limit would otherwise answer 429.
  RATE_LIMIT_GLOBAL_PER_MINUTE: String(BENCH_GLOBAL_RATE_LIMIT),
  // Load shedding stays installed, but a saturating benchmark keeps the event loop ~100% busy by
  // design, so the utilization check is set where it cannot trip (the delay check keeps its default).
  LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '1',
  SERVICE_TOKENS: BENCH_SERVICE_TOKEN,
};
