/**
 * Drives load with wrk when it is installed (faster: autocannon tops out near 38k req/s on one
 * core, below what bare Fastify serves) and with autocannon's programmatic API otherwise.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';

export type LoadTool = 'wrk' | 'autocannon';

/** What each request looks like; a scenario's setup may return one (e.g. a bearer token). */
export interface LoadRequest {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /**
   * Each request carries the next of `values` (cycling) in header `header`, e.g. a different
   * access token per request so a verified-token cache is missed.
   */
  readonly rotate?: { readonly header: string; readonly values: readonly string[] };
}

export interface LoadOptions {
  readonly url: string;
  readonly tool: LoadTool;
  readonly seconds: number;
  readonly connections: number;
  /** wrk threads (default 1); autocannon always runs in this process. */
  readonly threads?: number;
  /** Pin wrk to these CPUs with taskset; ignored for autocannon and when empty. */
  readonly cpus?: string;
  readonly request?: LoadRequest;
}

export interface LoadResult {
  readonly requestsPerSec: number;
  readonly requests: number;
  /** Responses with a status >= 400 (wrk) or outside 2xx (autocannon). */
  readonly errorResponses: number;
  readonly socketErrors: number;
  /** 99th percentile latency, ms (autocannon; undefined with wrk). */
  readonly p99Ms?: number;
}

/** wrk when `command -v wrk` finds it, else autocannon; `BENCH_TOOL` overrides. */
export function pickTool(preferred = process.env.BENCH_TOOL): LoadTool {
  if (preferred === 'wrk' || preferred === 'autocannon') return preferred;
  const found = spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status === 0;
  return found ? 'wrk' : 'autocannon';
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return options.tool === 'wrk' ? runWrk(options) : runAutocannon(options);
}

/**
 * Warms a server up (JIT, lazily built state) with 1 s loads until it has served `requests`, or
 * for `maxSeconds`: a fixed time is too little on a slow or busy machine.
 */
export async function warmUp(
  options: Omit<LoadOptions, 'seconds'>,
  requests = 20_000,
  maxSeconds = 20,
): Promise<void> {
  let served = 0;
  for (let s = 0; s < maxSeconds && served < requests; s++) {
    served += (await runLoad({ ...options, seconds: 1 })).requests;
  }
}

/** Cycles through a rotation's values (one counter per load run, shared by its connections). */
function rotation(values: readonly string[]): () => string {
  let i = 0;
  return () => {
    const value = values[i] as string;
    i = (i + 1) % values.length;
    return value;
  };
}

async function runAutocannon(o: LoadOptions): Promise<LoadResult> {
  const rotate = o.request?.rotate;
  const next = rotate ? rotation(rotate.values) : undefined;
  const r = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    method: o.request?.method ?? 'GET',
    headers: { ...o.request?.headers },
    body: o.request?.body,
    ...(rotate && next
      ? {
          requests: [
            {
              setupRequest: (req: autocannon.Request) => ({
                ...req,
                headers: { ...req.headers, [rotate.header]: next() },
              }),
            },
          ],
        }
      : {}),
  });
  return {
    requestsPerSec: r.requests.total / r.duration,
    requests: r.requests.total,
    errorResponses: r.non2xx,
    socketErrors: r.errors,
    p99Ms: r.latency.p99,
  };
}

/**
 * A wrk Lua script setting method, headers and body, when the request needs one; a rotation is
 * read from `valuesFile` (one value a line) and set per request in `request()`.
 */
function wrkScript(request: LoadRequest | undefined, valuesFile: string): string | undefined {
  if (!request) return undefined;
  const lines = [`wrk.method = ${JSON.stringify(request.method ?? 'GET')}`];
  for (const [k, v] of Object.entries(request.headers ?? {})) {
    lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  }
  if (request.body !== undefined) lines.push(`wrk.body = ${JSON.stringify(request.body)}`);
  if (request.rotate) {
    lines.push(
      'local values = {}',
      `for line in io.lines(${JSON.stringify(valuesFile)}) do values[#values + 1] = line end`,
      'local i = 0',
      'request = function()',
      '  i = i % #values + 1',
      `  wrk.headers[${JSON.stringify(request.rotate.header)}] = values[i]`,
      '  return wrk.format()',
      'end',
    );
  }
  return `${lines.join('\n')}\n`;
}

async function runWrk(o: LoadOptions): Promise<LoadResult> {
  const dir = o.request ? mkdtempSync(join(tmpdir(), 'bench-wrk-')) : undefined;
  const valuesFile = join(dir ?? tmpdir(), 'values.txt');
  const script = wrkScript(o.request, valuesFile);
  const args = ['-t', String(o.threads ?? 1), '-c', String(o.connections), '-d', `${o.seconds}s`];
  if (dir && script) {
    writeFileSync(join(dir, 'req.lua'), script);
    if (o.request?.rotate) writeFileSync(valuesFile, `${o.request.rotate.values.join('\n')}\n`);
    args.push('-s', join(dir, 'req.lua'));
  }
  args.push(o.url);
  const [cmd, argv] = o.cpus ? ['taskset', ['-c', o.cpus, 'wrk', ...args]] : ['wrk', args];
  try {
    const { stdout } = await promisify(execFile)(cmd, argv, { timeout: (o.seconds + 30) * 1000 });
    return parseWrk(stdout);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

export function parseWrk(out: string): LoadResult {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`cannot parse wrk output:\n${out}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requestsPerSec: Number(rps[1]),
    requests: num(/(\d+) requests in/),
    errorResponses: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}
