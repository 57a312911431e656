import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestMetrics } from './request-metrics.js';

const BUCKETS = [0.005, 0.01, 0.1, 1];
const OBSERVATIONS: [string, string, number, number][] = [
  ['/auth/login', 'POST', 401, 0.0042],
  ['/auth/login', 'POST', 401, 0.01],
  ['/auth/login', 'POST', 200, 0.3],
  ['/health/live', 'GET', 200, 0.0001],
  ['/products/:id', 'GET', 404, 7],
];

describe('request metrics', () => {
  it('expose exactly what prom-client Counter + Histogram expose for the same requests', async () => {
    const ours = new Registry();
    const metrics = new RequestMetrics(BUCKETS);
    metrics.register(ours);

    const theirs = new Registry();
    const labelNames = ['route', 'method', 'status'] as const;
    const counter = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status.',
      labelNames,
      registers: [theirs],
    });
    const histogram = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route pattern, method and status.',
      labelNames,
      buckets: BUCKETS,
      registers: [theirs],
    });

    for (const [route, method, status, seconds] of OBSERVATIONS) {
      metrics.observe(route, method, status, seconds);
      const labels = { route, method, status: String(status) };
      counter.inc(labels);
      histogram.observe(labels, seconds);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain(
      'http_request_duration_seconds_bucket{le="0.01",route="/auth/login",method="POST",status="401"} 2',
    );
  });
});
