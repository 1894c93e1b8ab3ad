// Loopback HTTP GETs with timing, on a keep-alive agent so a latency sample
// measures the server, not TCP setup.

import { Agent, request } from 'node:http';
import { gunzipSync } from 'node:zlib';

/** What Prometheus 2.x sends when it scrapes: OpenMetrics preferred, gzip accepted. */
export const PROMETHEUS_SCRAPE_HEADERS: Record<string, string> = {
  Accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  'Accept-Encoding': 'gzip',
};

export interface GetResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as received (compressed when the server gzipped it). */
  raw: Buffer;
  body: string;
  bytes: number;
  /** From sending the request to the last byte of the body. */
  ms: number;
}

export function keepAliveAgent(maxSockets = 8): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}

export function httpGet(url: string, opts: { agent?: Agent; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, { method: 'GET', agent: opts.agent, headers: opts.headers, timeout: opts.timeoutMs ?? 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        const ms = performance.now() - t0;
        const body = res.headers['content-encoding'] === 'gzip' ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: buf, body, bytes: buf.length, ms });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Sample values of one metric family from a text exposition, by label string (e.g. '{kind="major"}'). */
export function metricValues(body: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\{[^}]*\\})?\\s+(\\S+)`, 'gm');
  for (let m = re.exec(body); m !== null; m = re.exec(body)) out.set(m[1] ?? '', Number(m[2]));
  return out;
}

/** Sum of every sample of a metric (all label sets). */
export function metricSum(body: string, name: string): number {
  let s = 0;
  for (const v of metricValues(body, name).values()) s += v;
  return s;
}
