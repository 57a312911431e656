/** TLS on (TLS_CERT/TLS_KEY) and off, over a real socket: HSTS only over HTTPS. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from './support/app.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  protocol?: string | null;
}

function get(url: string, options: https.RequestOptions = {}): Promise<Answer> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { ...options, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          protocol: res.socket instanceof TLSSocket ? res.socket.getProtocol() : undefined,
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const dir = mkdtempSync(join(tmpdir(), 'bastion-tls-'));
const certFile = join(dir, 'cert.pem');
const keyFile = join(dir, 'key.pem');
let tls: TestContext;
let plain: TestContext;
let tlsUrl: string;
let plainUrl: string;

beforeAll(async () => {
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  tls = await createTestApp({ env: { TLS_CERT: certFile, TLS_KEY: keyFile } });
  plain = await createTestApp({ database: tls.database });
  await tls.app.listen({ port: 0, host: '127.0.0.1' });
  await plain.app.listen({ port: 0, host: '127.0.0.1' });
  tlsUrl = `https://127.0.0.1:${(tls.app.server.address() as AddressInfo).port}`;
  plainUrl = `http://127.0.0.1:${(plain.app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await plain?.close();
  await tls?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS on', () => {
  it('serves HTTPS with the configured certificate, TLS 1.2+, and HSTS', async () => {
    const res = await get(`${tlsUrl}/health/live`, { ca: readFileSync(certFile) });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
    expect(res.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=31536000/);
  });

  it('a client that does not trust the certificate is refused (the cert is really in use)', async () => {
    await expect(get(`${tlsUrl}/health/live`)).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it('plain HTTP on the TLS port is not served', async () => {
    const port = new URL(tlsUrl).port;
    const outcome = await get(`http://127.0.0.1:${port}/health/live`).then(
      (res) => res.status,
      () => 'refused',
    );
    expect(outcome === 'refused' || (typeof outcome === 'number' && outcome >= 400)).toBe(true);
  });
});

describe('TLS off', () => {
  it('serves plain HTTP without HSTS', async () => {
    const res = await get(`${plainUrl}/health/live`);
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});
