// The few Kubernetes API calls ethburst makes (list and watch the pods on
// its node, create and patch Events), over HTTPS with the pod's service
// account: its bearer token (re-read on every request, as bound tokens are
// rotated by the kubelet) and the cluster CA. No client library: four calls
// do not need one, and the image stays small. Every request has a deadline;
// nothing here ever waits on the sampling path.

import { readFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A request (not a watch) that has not answered in this long fails. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** A watch that has said nothing (not even a bookmark) for this long is dropped and opened again. */
export const WATCH_IDLE_MS = 90_000;
/** Larger answers are refused: a pod list for one node is far smaller. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface KubeApiOptions {
  /** https://host:port of the API server. */
  readonly server: string;
  /** Where the service account's `token` and `ca.crt` are. */
  readonly credentialsDir?: string;
  readonly timeoutMs?: number;
}

/** An answer: its status and parsed JSON body (null when it had none or was not JSON). */
export interface KubeResponse {
  status: number;
  body: unknown;
}

/** A failed call: code is the HTTP status as a string, or the socket error's code (ETIMEDOUT for a deadline). */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** A non-success answer as an error, with the API's own message when it gave one (a Status object). */
export function statusError(what: string, status: number, body: unknown): KubeApiError {
  const message = (body as { message?: unknown } | null)?.message;
  return new KubeApiError(`${what}: HTTP ${status}${typeof message === 'string' ? ` (${message.slice(0, 200)})` : ''}`, String(status), status);
}

/** The in-cluster API server, from the variables every pod gets; null outside a cluster. */
export function inClusterServer(env: NodeJS.ProcessEnv = process.env): string | null {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) return null;
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export class KubeApi {
  readonly server: URL;
  private readonly dir: string;
  private readonly timeoutMs: number;
  private ca: Buffer | null | undefined;

  constructor(opts: KubeApiOptions) {
    this.server = new URL(opts.server);
    // The bearer token never goes over plain HTTP.
    if (this.server.protocol !== 'https:') throw new KubeApiError(`${opts.server}: the Kubernetes API is reached over https only`, 'EPROTONOSUPPORT', null);
    this.dir = opts.credentialsDir ?? SERVICE_ACCOUNT_DIR;
    this.timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  /** One call; resolves with any status (the caller decides), rejects on a socket error or the deadline. */
  request(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, contentType = 'application/json'): Promise<KubeResponse> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = this.open(method, path, payload ? { 'Content-Type': contentType, 'Content-Length': String(payload.length) } : {});
      const timer = setTimeout(() => req.destroy(new KubeApiError(`${method} ${path}: no answer in ${this.timeoutMs / 1000} s`, 'ETIMEDOUT', null)), this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(err instanceof KubeApiError ? err : new KubeApiError(`${method} ${path}: ${err.code ?? err.message}`, err.code ?? 'EIO', null));
      });
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(new KubeApiError(`${method} ${path}: answer larger than ${MAX_BODY_BYTES} bytes`, 'E2BIG', null));
          else chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = null;
          try {
            parsed = text === '' ? null : JSON.parse(text);
          } catch {
            // A proxy's HTML error page: the status says enough.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.end(payload);
    });
  }

  /**
   * A watch: each JSON line of the answer goes to onEvent until the server
   * ends it, the signal aborts it or it stays silent for WATCH_IDLE_MS.
   * Resolves when it ended; rejects when it could not be opened (with the
   * status for a non-200 answer).
   */
  watch(path: string, onEvent: (e: unknown) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = this.open('GET', path, {});
      let idle: NodeJS.Timeout | null = null;
      const arm = (): void => {
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => req.destroy(new KubeApiError(`watch ${path}: silent for ${WATCH_IDLE_MS / 1000} s`, 'ETIMEDOUT', null)), WATCH_IDLE_MS);
      };
      const abort = (): void => void req.destroy();
      signal.addEventListener('abort', abort, { once: true });
      const done = (err: Error | null): void => {
        if (idle) clearTimeout(idle);
        signal.removeEventListener('abort', abort);
        if (err && !signal.aborted) reject(err);
        else resolve();
      };
      arm();
      req.on('error', (err: NodeJS.ErrnoException) => done(err instanceof KubeApiError ? err : new KubeApiError(`watch ${path}: ${err.code ?? err.message}`, err.code ?? 'EIO', null)));
      req.on('response', (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          done(new KubeApiError(`watch ${path}: HTTP ${res.statusCode}`, String(res.statusCode), res.statusCode ?? null));
          return;
        }
        let rest = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          arm();
          rest += chunk;
          if (rest.length > MAX_BODY_BYTES) {
            req.destroy(new KubeApiError(`watch ${path}: an event larger than ${MAX_BODY_BYTES} bytes`, 'E2BIG', null));
            return;
          }
          let nl: number;
          while ((nl = rest.indexOf('\n')) >= 0) {
            const line = rest.slice(0, nl).trim();
            rest = rest.slice(nl + 1);
            if (line === '') continue;
            let ev: unknown;
            try {
              ev = JSON.parse(line);
            } catch {
              req.destroy(new KubeApiError(`watch ${path}: a line that is not JSON`, 'EPROTO', null));
              return;
            }
            onEvent(ev);
          }
        });
        res.on('end', () => done(null));
        res.on('error', (err) => done(err));
      });
      req.end();
    });
  }

  private open(method: string, path: string, headers: Record<string, string>) {
    const url = new URL(path, this.server);
    const options: RequestOptions = {
      method,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: url.pathname + url.search,
      headers: { Accept: 'application/json', 'User-Agent': 'ethburst', ...headers, ...this.authorization() },
    };
    const ca = this.caCert();
    return httpsRequest({ ...options, ...(ca ? { ca } : {}) });
  }

  private authorization(): Record<string, string> {
    try {
      const token = readFileSync(join(this.dir, 'token'), 'utf8').trim();
      return token ? { Authorization: `Bearer ${token}` } : {};
    } catch {
      // No token: the API answers 401 or 403, which the caller reports.
      return {};
    }
  }

  private caCert(): Buffer | null {
    if (this.ca === undefined) {
      try {
        this.ca = readFileSync(join(this.dir, 'ca.crt'));
      } catch {
        // Without the cluster CA the system's roots decide (an API server with a public certificate).
        this.ca = null;
      }
    }
    return this.ca;
  }
}
