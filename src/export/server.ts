// The HTTP side of `ethburst serve`. It must never get in the way of
// sampling (the native thread owns the cadence anyway) and must shrug off
// whatever reaches it on a node port: bounded headers, bounded URLs, short
// timeouts, a connection cap that idle sockets cannot monopolise, security
// headers, and one-line errors. TLS and basic auth come from --web-config
// (src/export/web-config.ts).

import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { parseDuration } from '../cli/duration.js';
import { statPolicyView, type StatPolicyView } from '../aggregation/stat-policy.js';
import { summarizeWindow, type WindowSummary } from '../aggregation/window-summary.js';
import type { Exporter } from './exporter.js';
import type { Logger } from '../log.js';
import { oneLine } from '../errors.js';
import { statMetric } from './metric-names.js';
import type { LinkPollStats } from '../talkers/link-poller.js';
import { BasicAuth, type TlsSettings, type WebConfig, type WebConfigSource } from './web-config.js';

const gzipAsync = promisify(gzip);

/**
 * Bodies up to this size are gzipped on the event loop (0.3 ms for 8
 * devices' 46 KiB): the thread-pool round trip of zlib's async API cost
 * more than the compression (/metrics p50 3.4 → 2.1-2.7 ms, p99 10-12 →
 * 6-9.5 ms, 8 simulated devices, 500 back-to-back scrapes). Larger ones
 * (every stat of many devices) go to the thread pool, so the loop is never
 * held for milliseconds; the sampler's thread does not wait on it either way.
 */
const GZIP_INLINE_BYTES = 128 * 1024;
const gzipBody = async (body: string | Buffer): Promise<Buffer> => (Buffer.byteLength(body) <= GZIP_INLINE_BYTES ? gzipSync(body) : gzipAsync(body));

export const MAX_URL_BYTES = 2048;
export const MAX_HEADER_BYTES = 8192;
export const MAX_CONNECTIONS = 256;
/**
 * A connection must have sent a complete request head this soon after it
 * opened, or it is closed. Node's own headersTimeout only covers a request
 * that has begun, and only on its connectionsCheckingInterval sweep.
 */
export const FIRST_REQUEST_MS = 5_000;
export const HEADERS_TIMEOUT_MS = 5_000;
/**
 * Node checks headersTimeout/requestTimeout on a sweep every this often.
 * The deadlines that matter are per-connection timers here (a request head
 * within FIRST_REQUEST_MS of connecting, the next one within
 * NEXT_REQUEST_MS of the last response), which exist only while
 * connections do: a sweep every second woke an idle exporter for nothing,
 * about a third of its CPU on a small VM. The sweep stays as a backstop.
 */
export const CONNECTIONS_CHECK_MS = 60_000;
/** Idle keep-alive connections close after this long without a byte (Node's own timer). */
export const KEEP_ALIVE_MS = 5_000;
/**
 * After a response, the next complete request head must arrive within this
 * long: the keep-alive wait plus a head's worth of time, so a client that
 * starts a request and dribbles it is closed like one that never started.
 */
export const NEXT_REQUEST_MS = KEEP_ALIVE_MS + HEADERS_TIMEOUT_MS;

/**
 * The live page needs nothing but its own origin: no inline script or style
 * (uPlot styles elements through the CSSOM, which CSP allows), and the
 * favicon is a data: URL so the browser does not request one.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** On every response; http_server_config.headers can override or blank them. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

/** Paths kubelet probes: never behind basic auth (kubelet cannot send credentials). */
const PROBES = new Set(['/healthz', '/readyz']);
/** What the node port serves when --api-listen takes the API and the page elsewhere. */
const NODE_PATHS = new Set(['/metrics', ...PROBES]);

export type WebServer = HttpServer | HttpsServer;
/** /api/series looks back at most this far. */
export const MAX_SERIES_WINDOW_MS = 600_000;

export interface ServerOptions {
  readonly exporter: Exporter;
  readonly log: Logger;
  /** Extra facts for the index page and /api/devices (notice: what the user should know about the sampling, or null). */
  readonly describe: () => { source: string; intervalMs: number; notice?: string | null; links?: LinkPollStats };
  readonly now?: () => number;
  /** Static assets (the live page): `/` and `/ui/...`; null when there is no such asset. */
  readonly assets?: (path: string) => { type: string; body: string | Buffer } | null;
  /** `--capture-dir`, named where a capture is no longer kept in memory. */
  readonly captureDir?: string;
  /**
   * 'all' (default): every endpoint. 'node': only /metrics and the probes
   * (the node port when --api-listen serves the rest elsewhere).
   */
  readonly role?: 'all' | 'node';
  /** TLS, basic auth and extra headers; plain HTTP without auth when absent. */
  readonly web?: WebConfigSource;
  /** The stat policy /api/devices gives the page (its `--burst-stat`); the default one when absent. */
  readonly policy?: StatPolicyView;
  /** Hands over what the source sampled but has not delivered yet, so every answer is current to the last tick. */
  readonly catchUp?: () => void;
}

/**
 * Whether to gzip a response, from Accept-Encoding (RFC 9110 §12.5.3): gzip
 * (or its alias x-gzip) is wanted when its q-value, or that of `*` if gzip is
 * not named, is above 0 and not below identity's. So `gzip;q=0` and `*;q=0`
 * get a plain body, as do `identity` alone and a missing header (no coding
 * was offered). When nothing is acceptable the plain body is sent anyway,
 * which the RFC allows, rather than a 406 a scraper cannot act on. An entry
 * with a malformed q-value is ignored rather than guessed at.
 */
export function wantsGzip(header: string | undefined): boolean {
  const q = new Map<string, number>();
  for (const part of (header ?? '').split(',')) {
    const [coding, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (!coding) continue;
    let weight = 1;
    for (const p of params) {
      if (!/^q\s*=/.test(p)) continue;
      const m = /^q\s*=\s*(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/.exec(p);
      weight = m ? Number(m[1]) : Number.NaN;
    }
    if (Number.isNaN(weight)) continue;
    const name = coding === 'x-gzip' ? 'gzip' : coding;
    // The same coding twice: the most favourable mention wins.
    q.set(name, Math.max(q.get(name) ?? 0, weight));
  }
  const star = q.get('*');
  const gzipQ = q.get('gzip') ?? star ?? 0;
  // Identity is always acceptable, but it outranks gzip only when the client
  // gave it a q-value (named, or through `*`): `gzip;q=0.5` still means gzip.
  const identityQ = q.get('identity') ?? star ?? 0;
  return gzipQ > 0 && gzipQ >= identityQ;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function json(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`);
}

/** `since`: unix ms, or a duration meaning "that long ago". */
function parseSince(v: string | null, now: number): number | undefined {
  if (v === null || v === '') return undefined;
  if (/^[0-9]+(\.[0-9]+)?$/.test(v)) return Number(v);
  const ago = parseDuration(v);
  if (ago === null) throw new HttpError(400, `since: "${v.slice(0, 40)}" is neither unix milliseconds nor a duration such as 5m`);
  return now - ago;
}

// No inline <style>: the content security policy forbids it.
const INDEX = (source: string, intervalMs: number) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ethburst</title></head>
<body><h1>ethburst</h1>
<p>Sampling every ${intervalMs} ms from <code>${source.replace(/[<>&"]/g, '')}</code>.</p>
<ul>
<li><a href="/metrics">/metrics</a>: Prometheus and OpenMetrics exposition</li>
<li><a href="/api/bursts">/api/bursts</a>?since=&amp;device=&amp;stat=&amp;open=1: recent bursts (and those in progress)</li>
<li>/api/bursts/{id}/trace: a burst's capture (the samples around it, with the traffic and the node's counters) as a trace for <code>ethburst analyze</code></li>
<li><a href="/api/series">/api/series</a>?device=&amp;stat=&amp;window=: per-tick increases, full resolution, up to 10 min</li>
<li><a href="/api/devices">/api/devices</a>: sampled devices and their state</li>
<li><a href="/api/windows">/api/windows</a>?device=&amp;stat=: p50/p90/p99/max of per-second increase, burst size and duration over the last 1 min, 10 min, 1 h</li>
<li><a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a></li>
</ul></body></html>
`;

function tlsOptions(t: TlsSettings) {
  return {
    cert: t.cert,
    key: t.key,
    ...(t.ca ? { ca: t.ca } : {}),
    requestCert: t.requestCert,
    rejectUnauthorized: t.requestCert,
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    honorCipherOrder: t.honorCipherOrder,
  };
}

/** Response headers: ours, then the web config's (a blank value removes one). */
function responseHeaders(web: WebConfig | null): Record<string, string> {
  const out: Record<string, string> = { ...SECURITY_HEADERS };
  for (const [k, v] of Object.entries(web?.headers ?? {})) {
    if (v === '') delete out[k];
    else out[k] = v;
  }
  return out;
}

export function createServer(opts: ServerOptions): WebServer {
  const { exporter, log } = opts;
  const registry = exporter.registry;
  const now = opts.now ?? Date.now;
  const role = opts.role ?? 'all';
  const auth = new BasicAuth();
  const initialTls = opts.web?.current().tls ?? null;
  const policyView = opts.policy ?? statPolicyView();
  const policy = { ...policyView, gaugeMetric: statMetric(policyView.gaugeStat).metric };

  async function route(req: IncomingMessage, res: ServerResponse, web: WebConfig | null): Promise<void> {
    if ((req.url ?? '').length > MAX_URL_BYTES) throw new HttpError(414, 'URI too long');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw Object.assign(new HttpError(405, `method ${String(req.method).slice(0, 20)} not allowed`), { allow: true });
    }
    // A GET with a body is odd; refuse rather than buffer it.
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > 0 || req.headers['transfer-encoding']) throw new HttpError(413, 'request bodies are not accepted');
    const url = new URL(req.url ?? '/', 'http://localhost');
    opts.catchUp?.();
    const q = url.searchParams;
    if (web && web.users.size > 0 && !PROBES.has(url.pathname) && !(await auth.check(req.headers.authorization, web.users))) {
      throw new HttpError(401, 'unauthorized');
    }
    // The API and the page live on --api-listen; the node port keeps only
    // what Prometheus and kubelet need.
    if (role === 'node' && !NODE_PATHS.has(url.pathname)) throw new HttpError(404, 'not found');
    switch (url.pathname) {
      case '/metrics': {
        const [type, text] = await exporter.render(req.headers.accept);
        if (wantsGzip(req.headers['accept-encoding'])) {
          send(res, 200, type, await gzipBody(text), { 'Content-Encoding': 'gzip', Vary: 'Accept, Accept-Encoding' });
        } else {
          send(res, 200, type, text, { Vary: 'Accept, Accept-Encoding' });
        }
        return;
      }
      case '/healthz':
        send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
        return;
      case '/readyz': {
        const r = registry.readiness();
        send(res, r.ready ? 200 : 503, 'text/plain; charset=utf-8', `${r.reason}\n`);
        return;
      }
      case '/api/bursts': {
        const since = parseSince(q.get('since'), now());
        const filter = { sinceMs: since, device: q.get('device') ?? undefined, stat: q.get('stat') ?? undefined };
        const bursts = registry.bursts.query(filter).map((b) => ({ ...b, capture: captureState(b.id!) }));
        const body: Record<string, unknown> = { now_ms: now(), burst_gap_ms: registry.aggregator.burstGapMs, bursts };
        // Bursts still in progress: they become final after burst_gap_ms without drops.
        if (q.get('open') === '1') body['open'] = registry.openBursts(filter);
        json(res, body);
        return;
      }
      case '/api/series': {
        const device = q.get('device');
        const stat = q.get('stat');
        const d = describeSource();
        if (device === null || stat === null) {
          json(res, { now_ms: now(), interval_ms: d.intervalMs, burst_gap_ms: registry.aggregator.burstGapMs, series: registry.seriesKeys() });
          return;
        }
        const windowText = q.get('window') ?? '5m';
        const windowMs = parseDuration(windowText);
        if (windowMs === null || windowMs <= 0 || windowMs > MAX_SERIES_WINDOW_MS) {
          throw new HttpError(400, `window: "${windowText.slice(0, 40)}" must be a duration up to 10m`);
        }
        const ring = registry.series(device, stat);
        if (!ring) throw new HttpError(404, `no series for device "${device.slice(0, 64)}" stat "${stat.slice(0, 64)}"`);
        const t = now();
        json(res, { device, stat, now_ms: t, interval_ms: d.intervalMs, window_ms: windowMs, points: ring.since(t - windowMs) });
        return;
      }
      case '/api/windows': {
        // Read on the samples' clock, like the windows themselves.
        const agg = registry.aggregator;
        const t = agg.clockMs;
        const device = q.get('device');
        const stat = q.get('stat');
        const stats: { device: string; stat: string; windows: WindowSummary[] }[] = [];
        for (const s of agg.totals()) {
          // Devices sampled now; the aggregation remembers the ones that went.
          if ((device !== null && s.device !== device) || (stat !== null && s.stat !== stat) || !registry.get(s.device)) continue;
          const ws = agg.windows(s.device, s.stat, t);
          if (ws) stats.push({ device: s.device, stat: s.stat, windows: ws.map(summarizeWindow) });
        }
        json(res, { now_ms: t === t ? t : null, windows_s: agg.windowsMs.map((w) => w / 1000), stats });
        return;
      }
      case '/api/devices':
        json(res, { ...describeSource(), policy, devices: registry.views(), readiness: registry.readiness() });
        return;
      case '/': {
        const page = opts.assets?.('/');
        if (page) {
          send(res, 200, page.type, page.body);
          return;
        }
        const d = describeSource();
        send(res, 200, 'text/html; charset=utf-8', INDEX(d.source, d.intervalMs));
        return;
      }
      default: {
        const trace = /^\/api\/bursts\/(\d{1,15})\/trace$/.exec(url.pathname);
        if (trace) {
          sendCapture(res, Number(trace[1]));
          return;
        }
        const asset = url.pathname.startsWith('/ui/') ? opts.assets?.(url.pathname) : null;
        if (asset) {
          send(res, 200, asset.type, asset.body, { 'Cache-Control': 'max-age=300' });
          return;
        }
        throw new HttpError(404, 'not found');
      }
    }
  }

  function describeSource() {
    return opts.describe();
  }

  /** Where a burst's capture is: complete in memory, being recorded, dropped from memory, or not recorded at all. */
  function captureState(id: number): 'ready' | 'recording' | 'dropped' | 'off' {
    if (registry.recorder === null) return 'off';
    if (registry.captures.get(id)?.available) return 'ready';
    return registry.recorder.isPending(id) ? 'recording' : 'dropped';
  }

  /** A burst's capture as a trace (JSON Lines); while still recording, what there is so far. */
  function sendCapture(res: ServerResponse, id: number): void {
    const rec = registry.recorder;
    if (rec === null) throw new HttpError(404, 'the flight recorder is off (--recorder-span 0)');
    let capture = registry.captures.get(id) ?? null;
    let state = 'complete';
    if (capture !== null && !capture.available) {
      throw new HttpError(404, `the capture of burst ${id} is older than the flight recorder's span (--recorder-span)${opts.captureDir ? `; see ${opts.captureDir}` : ''}`);
    }
    if (capture === null) {
      const b = registry.bursts.byId(id);
      if (b === undefined || !rec.isPending(id)) {
        throw new HttpError(404, `no capture of burst ${id} is kept in memory${opts.captureDir ? ` (see ${opts.captureDir})` : ''}`);
      }
      capture = rec.capture({ id, device: b.device, stat: b.stat, startMs: b.start_ms, endMs: b.end_ms });
      state = 'recording';
      if (capture === null) throw new HttpError(404, `no samples of burst ${id} are on record`);
    }
    send(res, 200, 'application/x-ndjson; charset=utf-8', capture.text(), {
      'Ethburst-Capture': state,
      'Content-Disposition': `inline; filename="burst-${id}.jsonl"`,
    });
  }

  // Every TCP connection, oldest first (Map keeps insertion order), keyed by
  // the peer's address and port. With TLS the request's socket is a
  // TLSSocket wrapping the TCP one and Node offers no public link between
  // them; the peer address and port name the same connection in both.
  interface Conn {
    socket: Socket;
    requests: number;
    busy: boolean;
    timer: NodeJS.Timeout | null;
  }
  const conns = new Map<string, Conn>();
  const peer = (s: Socket): string => `${s.remoteAddress}|${s.remotePort}`;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const conn = conns.get(peer(req.socket));
    if (conn) {
      if (conn.timer) clearTimeout(conn.timer);
      conn.timer = null;
      conn.requests++;
      conn.busy = true;
      res.once('close', () => {
        conn.busy = false;
        if (conn.socket.destroyed) return;
        const served = conn.requests;
        conn.timer = setTimeout(() => {
          if (conn.requests === served) conn.socket.destroy();
        }, NEXT_REQUEST_MS);
        conn.timer.unref();
      });
    }
    const web = opts.web?.current() ?? null;
    for (const [k, v] of Object.entries(responseHeaders(web))) res.setHeader(k, v);
    route(req, res, web).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log.log('error', 'request failed', { path: (req.url ?? '').slice(0, 100), error: oneLine(err) });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const headers: Record<string, string> = status === 405 ? { Allow: 'GET, HEAD' } : {};
      if (status === 413) headers['Connection'] = 'close';
      if (status === 401) headers['WWW-Authenticate'] = 'Basic realm="ethburst", charset="UTF-8"';
      send(res, status, 'text/plain; charset=utf-8', `${status === 500 ? 'internal error' : oneLine(err)}\n`, headers);
    });
  };

  const httpOptions = {
    maxHeaderSize: MAX_HEADER_BYTES,
    requestTimeout: 10_000,
    headersTimeout: HEADERS_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_MS,
    connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
  };
  const server: WebServer = initialTls
    ? createHttpsServer({ ...httpOptions, ...tlsOptions(initialTls), handshakeTimeout: FIRST_REQUEST_MS }, handler)
    : createHttpServer(httpOptions, handler);
  server.maxRequestsPerSocket = 1000;

  // The connection cap. Node's maxConnections refuses the newest connection
  // when full, so a few hundred sockets that never finish a request would
  // lock kubelet and Prometheus out. Instead, when full, the oldest
  // connection that is not in the middle of a request makes room (first
  // those that never sent a request, then idle keep-alive ones); and each
  // new connection must complete its TLS handshake (if any) and a request
  // head within FIRST_REQUEST_MS.
  const evictOne = (): boolean => {
    let victim: [string, Conn] | null = null;
    for (const entry of conns) {
      if (entry[1].busy) continue;
      if (entry[1].requests === 0) {
        victim = entry;
        break;
      }
      victim ??= entry;
    }
    if (!victim) return false;
    conns.delete(victim[0]);
    victim[1].socket.destroy();
    return true;
  };
  server.on('connection', (socket: Socket) => {
    const key = peer(socket);
    if (socket.remotePort === undefined || (conns.size >= MAX_CONNECTIONS && !evictOne())) {
      socket.destroy();
      return;
    }
    const conn: Conn = { socket, requests: 0, busy: false, timer: null };
    conn.timer = setTimeout(() => {
      if (conn.requests === 0) socket.destroy();
    }, FIRST_REQUEST_MS);
    conn.timer.unref();
    conns.set(key, conn);
    socket.once('close', () => {
      if (conn.timer) clearTimeout(conn.timer);
      // The key may already name a newer connection from the same port.
      if (conns.get(key) === conn) conns.delete(key);
    });
  });

  if (opts.web && initialTls) {
    // A rotated certificate (a Secret update) replaces the TLS context for
    // new connections; TLS cannot be switched on or off without a restart.
    opts.web.onReload((c) => {
      if (c.tls) (server as HttpsServer).setSecureContext(tlsOptions(c.tls));
    });
  }

  // Malformed requests (bad request line, oversized headers): answer and drop.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 0\r\n\r\n`,
    );
  });
  return server;
}

/** "HOST:PORT", ":PORT" or "[v6]:PORT" → [host, port]; null when malformed. */
export function parseListen(text: string): [string, number] | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return [m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!), port];
}
