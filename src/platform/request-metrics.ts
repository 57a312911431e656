/**
 * `http_requests_total` and `http_request_duration_seconds`, counted in plain arrays on the
 * request path and handed to prom-client only when /metrics is scraped. prom-client's own
 * `observe()` validates and hashes the label set on every call (~1-2 µs per request, measured
 * in bench/README.md); here a request costs one Map look-up and a bucket scan. The exposition
 * (names, labels, buckets, `_sum`/`_count`) is the same as prom-client's Counter and Histogram.
 */
import type { Metric, Registry } from 'prom-client';

interface Series {
  readonly labels: Readonly<{ route: string; method: string; status: string }>;
  /** Count per bucket (not cumulative); the last slot is +Inf. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

interface Sample {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

/** The shape prom-client's Registry reads from a metric (its `get()` result). */
interface MetricData {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly values: Sample[];
  readonly aggregator: 'sum';
}

export class RequestMetrics {
  private readonly series = new Map<string, Series>();

  constructor(private readonly upperBounds: readonly number[]) {}

  /** Records one answered request; `seconds` is its duration. */
  observe(route: string, method: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: { route, method, status: String(status) },
        buckets: new Float64Array(this.upperBounds.length + 1),
        sum: 0,
        count: 0,
      };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.upperBounds.length && seconds > (this.upperBounds[i] as number)) i++;
    s.buckets[i] = (s.buckets[i] as number) + 1;
    s.sum += seconds;
    s.count += 1;
  }

  /** Registers the counter and the histogram in `registry` under their documented names. */
  register(registry: Registry): void {
    const counter = {
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status.',
      type: 'counter',
      get: async (): Promise<MetricData> => ({
        name: 'http_requests_total',
        help: counter.help,
        type: 'counter',
        values: [...this.series.values()].map((s) => ({ labels: { ...s.labels }, value: s.count })),
        aggregator: 'sum',
      }),
    };
    const histogram = {
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route pattern, method and status.',
      type: 'histogram',
      get: async (): Promise<MetricData> => ({
        name: histogram.name,
        help: histogram.help,
        type: 'histogram',
        values: [...this.series.values()].flatMap((s) => this.histogramSamples(s)),
        aggregator: 'sum',
      }),
    };
    registry.registerMetric(counter as unknown as Metric);
    registry.registerMetric(histogram as unknown as Metric);
  }

  private histogramSamples(s: Series): Sample[] {
    const name = 'http_request_duration_seconds';
    const out: Sample[] = [];
    let cumulative = 0;
    this.upperBounds.forEach((le, i) => {
      cumulative += s.buckets[i] as number;
      out.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${name}_bucket` });
    });
    out.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${name}_bucket` });
    out.push({ labels: { ...s.labels }, value: s.sum, metricName: `${name}_sum` });
    out.push({ labels: { ...s.labels }, value: s.count, metricName: `${name}_count` });
    return out;
  }
}
