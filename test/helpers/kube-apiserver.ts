// A stand-in for the Kubernetes API server (these machines have none): a
// local HTTPS server that implements only the calls ethburst makes and
// checks each of them the way the real one would.
//
//   GET   /api/v1/pods?fieldSelector=spec.nodeName=NODE[&limit&continue]   list
//   GET   /api/v1/pods?fieldSelector=...&watch=true&resourceVersion=RV     watch
//   POST  /apis/events.k8s.io/v1/namespaces/default/events                  create
//   PATCH /apis/events.k8s.io/v1/namespaces/default/events/NAME             merge patch
//
// Requests need the service account's bearer token (401 without). Event
// bodies are validated against the Kubernetes OpenAPI schemas
// (kubernetes-models) and the API server's own rules for events.k8s.io/v1
// (pkg/apis/core/validation/events.go: required fields and lengths on
// create, immutable fields on update); the answer to an invalid one is the
// 422 Status the real server sends. The test can make it fail: every call
// answers 403 or 500, or accepts and never answers.

import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { Event } from 'kubernetes-models/events.k8s.io/v1';
import { Pod } from 'kubernetes-models/v1';
import { makeCertificates } from './certificates.js';

export type Failure = 'none' | 'hang' | 403 | 500;

export interface Recorded {
  method: string;
  path: string;
  body: unknown;
  status: number | null;
}

export interface KubeApiServer {
  url: string;
  /** The service account directory a client reads (token, ca.crt). */
  credentialsDir: string;
  /** Every request, in order, with the status it got (null: never answered). */
  requests: Recorded[];
  /** The Events as stored (after creates and patches). */
  events: Map<string, Record<string, unknown>>;
  /** Pods come and go: a watch sees ADDED, MODIFIED and DELETED. */
  addPod(p: { namespace: string; name: string; ips: string[]; hostNetwork?: boolean; nodeName?: string }): void;
  deletePod(namespace: string, name: string): void;
  /** Forgets the watch history before now: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void;
  fail(f: Failure): void;
  close(): Promise<void>;
}

const TOKEN = 'ethburst-test-service-account-token';

interface Change {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  pod: Record<string, unknown>;
}

export async function startKubeApiServer(dir: string, nodeName: string): Promise<KubeApiServer> {
  makeCertificates(dir);
  const credentialsDir = join(dir, 'serviceaccount');
  mkdirSync(credentialsDir, { recursive: true });
  writeFileSync(join(credentialsDir, 'token'), `${TOKEN}\n`);
  writeFileSync(join(credentialsDir, 'ca.crt'), readFileSync(join(dir, 'ca.crt')));
  writeFileSync(join(credentialsDir, 'namespace'), 'ethburst');

  let rv = 1000;
  let compactedAt = 0;
  let failure: Failure = 'none';
  const pods = new Map<string, Record<string, unknown>>();
  const history: Change[] = [];
  const watchers = new Set<{ res: ServerResponse; node: string }>();
  const events = new Map<string, Record<string, unknown>>();
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer({ cert: readFileSync(join(dir, 'tls/server.crt')), key: readFileSync(join(dir, 'tls/server.key')) }, (req, res) => {
    void handle(req, res);
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function status(res: ServerResponse, rec: Recorded, code: number, reason: string, message: string): void {
    rec.status = code;
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }

  function ok(res: ServerResponse, rec: Recorded, code: number, body: unknown): void {
    rec.status = code;
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return text;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://stand-in');
    const text = req.method === 'GET' ? '' : await readBody(req);
    let body: unknown;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      body = text;
    }
    const rec: Recorded = { method: req.method ?? '', path: url.pathname + url.search, body, status: null };
    requests.push(rec);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return status(res, rec, 401, 'Unauthorized', 'Unauthorized');
    if (failure === 'hang') return; // accepted, never answered
    if (failure === 403) return status(res, rec, 403, 'Forbidden', `pods is forbidden: User "system:serviceaccount:ethburst:ethburst" cannot ${req.method} here`);
    if (failure === 500) return status(res, rec, 500, 'InternalError', 'Internal error occurred: etcdserver: request timed out');

    if (url.pathname === '/api/v1/pods' && req.method === 'GET') return pods_(url, res, rec);
    const events_ = /^\/apis\/events\.k8s\.io\/v1\/namespaces\/([^/]+)\/events(?:\/([^/]+))?$/.exec(url.pathname);
    if (events_ && req.method === 'POST' && events_[2] === undefined) return createEvent(events_[1]!, req, body, res, rec);
    if (events_ && req.method === 'PATCH' && events_[2] !== undefined) return patchEvent(events_[1]!, decodeURIComponent(events_[2]), req, body, res, rec);
    return status(res, rec, 404, 'NotFound', `the stand-in does not serve ${req.method} ${url.pathname}`);
  }

  function pods_(url: URL, res: ServerResponse, rec: Recorded): void {
    const selector = url.searchParams.get('fieldSelector');
    const m = /^spec\.nodeName=(.+)$/.exec(selector ?? '');
    // ethburst must only ever ask for its own node's pods (the RBAC cannot restrict that; the query must).
    if (!m || m[1] !== nodeName) return status(res, rec, 400, 'BadRequest', `fieldSelector must be spec.nodeName=${nodeName}, was ${JSON.stringify(selector)}`);
    const node = m[1];
    const mine = [...pods.values()].filter((p) => (p['spec'] as { nodeName: string }).nodeName === node);
    if (url.searchParams.get('watch') === 'true') {
      const from = Number(url.searchParams.get('resourceVersion'));
      if (!Number.isInteger(from) || from <= 0) return status(res, rec, 400, 'BadRequest', 'a watch needs the resourceVersion of its list');
      rec.status = 200;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      if (from < compactedAt) {
        res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${from} (${compactedAt})`, reason: 'Expired', code: 410 } })}\n`);
        return;
      }
      for (const c of history) if (c.rv > from && (c.pod['spec'] as { nodeName: string }).nodeName === node) res.write(`${JSON.stringify({ type: c.type, object: c.pod })}\n`);
      const w = { res, node };
      watchers.add(w);
      res.on('close', () => watchers.delete(w));
      const seconds = Number(url.searchParams.get('timeoutSeconds') ?? '1800');
      const t = setTimeout(() => {
        watchers.delete(w);
        res.end();
      }, seconds * 1000);
      res.on('close', () => clearTimeout(t));
      return;
    }
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const start = Number(url.searchParams.get('continue') ?? '0');
    const page = limit > 0 ? mine.slice(start, start + limit) : mine.slice(start);
    const more = limit > 0 && start + limit < mine.length;
    ok(res, rec, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(rv), ...(more ? { continue: String(start + limit) } : {}) }, items: page });
  }

  function createEvent(ns: string, req: IncomingMessage, body: unknown, res: ServerResponse, rec: Recorded): void {
    if (!String(req.headers['content-type']).startsWith('application/json')) return status(res, rec, 415, 'UnsupportedMediaType', 'create takes application/json');
    const errors = validateEvent(body, ns, null);
    if (errors.length > 0) return status(res, rec, 422, 'Invalid', `Event is invalid: ${errors.join('; ')}`);
    const e = body as { metadata: { name: string } };
    if (events.has(e.metadata.name)) return status(res, rec, 409, 'AlreadyExists', `events.events.k8s.io "${e.metadata.name}" already exists`);
    const stored = { ...e, metadata: { ...e.metadata, uid: `uid-${++rv}`, resourceVersion: String(rv), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } };
    events.set(e.metadata.name, stored);
    ok(res, rec, 201, stored);
  }

  function patchEvent(ns: string, name: string, req: IncomingMessage, patch: unknown, res: ServerResponse, rec: Recorded): void {
    if (req.headers['content-type'] !== 'application/merge-patch+json') return status(res, rec, 415, 'UnsupportedMediaType', 'the stand-in takes merge patches (application/merge-patch+json)');
    const old = events.get(name);
    if (old === undefined || (old['metadata'] as { namespace: string }).namespace !== ns) return status(res, rec, 404, 'NotFound', `events.events.k8s.io "${name}" not found`);
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return status(res, rec, 400, 'BadRequest', 'a merge patch is a JSON object');
    const next = mergePatch(old, patch) as Record<string, unknown>;
    const errors = validateEvent(next, ns, old);
    if (errors.length > 0) return status(res, rec, 422, 'Invalid', `Event is invalid: ${errors.join('; ')}`);
    (next['metadata'] as Record<string, unknown>)['resourceVersion'] = String(++rv);
    events.set(name, next);
    ok(res, rec, 200, next);
  }

  function change(type: Change['type'], pod: Record<string, unknown>): void {
    rv++;
    (pod['metadata'] as Record<string, unknown>)['resourceVersion'] = String(rv);
    const c = { rv, type, pod: structuredClone(pod) };
    history.push(c);
    for (const w of watchers) if ((pod['spec'] as { nodeName: string }).nodeName === w.node && !w.res.writableEnded) w.res.write(`${JSON.stringify({ type, object: c.pod })}\n`);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `https://127.0.0.1:${port}`,
    credentialsDir,
    requests,
    events,
    addPod(p) {
      const key = `${p.namespace}/${p.name}`;
      const existing = pods.get(key);
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { namespace: p.namespace, name: p.name, uid: (existing?.['metadata'] as { uid?: string } | undefined)?.uid ?? `pod-${key}` },
        spec: { nodeName: p.nodeName ?? nodeName, hostNetwork: p.hostNetwork ?? false, containers: [{ name: 'app', image: 'registry.example/app:1' }] },
        status: { phase: 'Running', podIP: p.ips[0], podIPs: p.ips.map((ip) => ({ ip })) },
      };
      new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate();
      pods.set(key, pod);
      change(existing ? 'MODIFIED' : 'ADDED', pod);
    },
    deletePod(namespace, name) {
      const pod = pods.get(`${namespace}/${name}`);
      if (!pod) return;
      pods.delete(`${namespace}/${name}`);
      change('DELETED', pod);
    },
    compact() {
      compactedAt = rv + 1;
      history.length = 0;
      // The server also ends the open watches; their clients come back with an old resourceVersion.
      for (const w of watchers) w.res.end();
      watchers.clear();
    },
    fail(f) {
      failure = f;
    },
    async close() {
      for (const w of watchers) w.res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IMMUTABLE = ['regarding', 'related', 'reason', 'note', 'type', 'eventTime', 'action', 'reportingController', 'reportingInstance', 'deprecatedSource', 'deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount'];

/** The schema (kubernetes-models) and the API server's events.k8s.io/v1 rules; the errors, none when valid. */
export function validateEvent(body: unknown, namespace: string, old: Record<string, unknown> | null): string[] {
  const errors: string[] = [];
  try {
    new Event(body as ConstructorParameters<typeof Event>[0]).validate();
  } catch (err) {
    errors.push(`schema: ${(err as Error).message}`);
    return errors;
  }
  const e = body as Record<string, unknown> & { metadata: { name?: string; namespace?: string }; regarding?: { namespace?: string }; series?: { count?: number; lastObservedTime?: string } };
  const str = (k: string): string => (typeof e[k] === 'string' ? (e[k]) : '');
  if ((e['apiVersion'] ?? 'events.k8s.io/v1') !== 'events.k8s.io/v1' || (e['kind'] ?? 'Event') !== 'Event') errors.push('apiVersion/kind: must be events.k8s.io/v1 Event');
  if ((e.metadata.namespace ?? namespace) !== namespace) errors.push('metadata.namespace: does not match the request');
  const name = e.metadata.name ?? '';
  if (name.length === 0 || name.length > 253 || !DNS_SUBDOMAIN.test(name)) errors.push(`metadata.name: ${JSON.stringify(name)} is not a DNS subdomain`);
  if (!str('eventTime')) errors.push('eventTime: Required value');
  if (str('type') !== 'Normal' && str('type') !== 'Warning') errors.push(`type: has invalid value: ${str('type')}`);
  if (!e.regarding?.namespace && namespace !== 'default' && namespace !== 'kube-system') errors.push('regarding.namespace: does not match event.namespace');
  if (!str('reportingController')) errors.push('reportingController: Required value');
  else if (!QUALIFIED_NAME.test(str('reportingController'))) errors.push('reportingController: not a qualified name');
  if (!str('reportingInstance')) errors.push('reportingInstance: Required value');
  if (str('reportingInstance').length > 128) errors.push('reportingInstance: can have at most 128 characters');
  if (!str('action')) errors.push('action: Required value');
  if (str('action').length > 128) errors.push('action: can have at most 128 characters');
  if (!str('reason')) errors.push('reason: Required value');
  if (str('reason').length > 128) errors.push('reason: can have at most 128 characters');
  if (str('note').length > 1024) errors.push('note: can have at most 1024 characters');
  for (const k of ['deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount', 'deprecatedSource']) if (e[k] !== undefined && old === null) errors.push(`${k}: needs to be unset`);
  const seriesChanged = old === null || JSON.stringify(e.series) !== JSON.stringify(old['series']);
  if (e.series !== undefined && seriesChanged) {
    if ((e.series.count ?? 0) < 2) errors.push('series.count: should be at least 2');
    if (!e.series.lastObservedTime) errors.push('series.lastObservedTime: Required value');
  }
  if (old !== null) for (const k of IMMUTABLE) if (JSON.stringify(e[k]) !== JSON.stringify(old[k])) errors.push(`${k}: field is immutable`);
  return errors;
}
