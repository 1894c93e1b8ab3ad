// Pod address → namespace/name for the pods on this node, from the
// Kubernetes API: one list of the pods whose spec.nodeName is this node,
// then a watch from its resourceVersion (bookmarks keep it current; a 410
// Gone lists again). A deleted pod keeps its name for a while, so a burst
// that ends just after its pod went still names it, unless another pod
// takes the address. Without permission (403) or without an API at all,
// lookups answer null and bursts name pods by address; the directory keeps
// trying, slowly, and says so once.

import { FailureReport, type Logger } from '../log.js';
import { KubeApiError, statusError, type KubeApi } from './api-client.js';

/** After a failed list or watch: wait this long, doubling up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;
/** Not allowed to list pods: ask again this rarely (RBAC may be fixed meanwhile). */
const FORBIDDEN_RETRY_MS = 300_000;
/** A deleted pod's address stays named this long. */
export const DELETED_KEPT_MS = 120_000;
/** Pods per list page. */
const PAGE = 500;
/** A watch ends on the server's side after this long (it is opened again from where it was). */
const WATCH_SECONDS = 300;

interface PodMeta {
  namespace: string;
  name: string;
  ips: string[];
}

/** The pods the directory knows, and how it is going: in /api/devices. */
export interface PodDirectoryStats {
  pods: number;
  lists: number;
  watchEvents: number;
  /** Lists or watches that failed. */
  failures: number;
  /** The last failure, null once working. */
  error: string | null;
}

export interface PodDirectoryOptions {
  readonly api: KubeApi;
  readonly nodeName: string;
  readonly log?: Logger;
  readonly now?: () => number;
}

export class PodDirectory {
  private readonly byIp = new Map<string, string>();
  private readonly byUid = new Map<string, PodMeta>();
  /** Addresses of deleted pods: their name and when it stops being given. */
  private readonly deleted = new Map<string, { pod: string; untilMs: number }>();
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private running = false;
  private retryMs = FIRST_RETRY_MS;
  private readonly reported = new FailureReport();
  private timer: NodeJS.Timeout | null = null;
  private resolveWait: (() => void) | null = null;
  lists = 0;
  watchEvents = 0;
  failures = 0;
  error: string | null = null;

  constructor(private readonly opts: PodDirectoryOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** namespace/name of the pod with this address, or null. */
  lookup(ip: string): string | null {
    const pod = this.byIp.get(ip);
    if (pod !== undefined) return pod;
    const gone = this.deleted.get(ip);
    if (gone === undefined) return null;
    if (this.now() < gone.untilMs) return gone.pod;
    this.deleted.delete(ip);
    return null;
  }

  stats(): PodDirectoryStats {
    return { pods: this.byUid.size, lists: this.lists, watchEvents: this.watchEvents, failures: this.failures, error: this.error };
  }

  /** Lists and watches until stop(); never rejects. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  stop(): void {
    this.running = false;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.resolveWait?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        let rv = await this.list();
        this.working();
        for (;;) {
          const began = this.now();
          const events = this.watchEvents;
          const next = await this.watchFrom(rv);
          if (!this.running) return;
          if (next === null) break; // 410 Gone: list again
          rv = next;
          this.working();
          // A server that ends watches at once must not be asked again at once.
          if (this.watchEvents === events && this.now() - began < FIRST_RETRY_MS) await this.wait(FIRST_RETRY_MS);
        }
      } catch (err) {
        if (!this.running) return;
        const e = err instanceof KubeApiError ? err : new KubeApiError(String(err), 'EIO', null);
        this.failed(e);
        await this.wait(e.status === 403 || e.status === 401 ? FORBIDDEN_RETRY_MS : this.retryMs);
        this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
      }
    }
  }

  private selector(): string {
    return `fieldSelector=${encodeURIComponent(`spec.nodeName=${this.opts.nodeName}`)}`;
  }

  /** Lists the node's pods (page by page) and replaces what is known; returns the list's resourceVersion. */
  private async list(): Promise<string> {
    const seen = new Map<string, PodMeta>();
    let cont = '';
    let rv: string;
    do {
      const path = `/api/v1/pods?${this.selector()}&limit=${PAGE}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
      const res = await this.opts.api.request('GET', path);
      if (res.status !== 200) throw statusError('list pods', res.status, res.body);
      const body = res.body as { metadata?: { resourceVersion?: string; continue?: string }; items?: unknown[] } | null;
      for (const item of body?.items ?? []) {
        const p = podOf(item);
        if (p) seen.set(p.uid, p.meta);
      }
      rv = body?.metadata?.resourceVersion ?? '';
      cont = body?.metadata?.continue ?? '';
    } while (cont !== '' && this.running);
    // What went while no watch was open is deleted now.
    for (const [uid, meta] of this.byUid) if (!seen.has(uid)) this.remove(uid, meta);
    for (const [uid, meta] of seen) this.put(uid, meta);
    this.lists++;
    return rv;
  }

  /** Watches from rv until the server ends it; returns the newest resourceVersion, or null when it is too old (list again). */
  private async watchFrom(rv: string): Promise<string | null> {
    let newest: string | null = rv;
    const path = `/api/v1/pods?${this.selector()}&watch=true&allowWatchBookmarks=true&timeoutSeconds=${WATCH_SECONDS}&resourceVersion=${encodeURIComponent(rv)}`;
    await this.opts.api.watch(
      path,
      (ev) => {
        const e = ev as { type?: string; object?: { metadata?: { resourceVersion?: string }; code?: number } };
        this.watchEvents++;
        if (e.type === 'ERROR') {
          // 410: the resourceVersion is older than the server keeps; anything else: start over too.
          newest = null;
          return;
        }
        const p = podOf(e.object);
        if (e.type === 'ADDED' || e.type === 'MODIFIED') {
          if (p) this.put(p.uid, p.meta);
        } else if (e.type === 'DELETED') {
          const uid = (e.object as { metadata?: { uid?: string } } | undefined)?.metadata?.uid;
          const meta = uid === undefined ? undefined : this.byUid.get(uid);
          if (uid !== undefined && meta !== undefined) this.remove(uid, meta);
        }
        const v = e.object?.metadata?.resourceVersion;
        if (newest !== null && typeof v === 'string' && v !== '') newest = v;
      },
      this.abort.signal,
    );
    return newest;
  }

  private put(uid: string, meta: PodMeta): void {
    const old = this.byUid.get(uid);
    if (old) for (const ip of old.ips) if (!meta.ips.includes(ip)) this.byIp.delete(ip);
    this.byUid.set(uid, meta);
    const pod = `${meta.namespace}/${meta.name}`;
    for (const ip of meta.ips) {
      this.byIp.set(ip, pod);
      this.deleted.delete(ip);
    }
  }

  private remove(uid: string, meta: PodMeta): void {
    this.byUid.delete(uid);
    const untilMs = this.now() + DELETED_KEPT_MS;
    for (const ip of meta.ips) {
      if (this.byIp.get(ip) !== `${meta.namespace}/${meta.name}`) continue;
      this.byIp.delete(ip);
      this.deleted.set(ip, { pod: `${meta.namespace}/${meta.name}`, untilMs });
    }
    // Expired tombstones go on the way.
    const now = this.now();
    for (const [ip, d] of this.deleted) if (d.untilMs <= now) this.deleted.delete(ip);
  }

  private working(): void {
    this.retryMs = FIRST_RETRY_MS;
    this.error = null;
    if (this.reported.recovered()) {
      this.opts.log?.log('info', 'naming pods from the Kubernetes API again', { pods: this.byUid.size });
    }
  }

  private failed(e: KubeApiError): void {
    this.failures++;
    this.error = e.code;
    if (!this.reported.failed(e.code)) return;
    const why = e.status === 403 ? 'the service account may not list pods' : e.status === 401 ? 'the service account token was refused' : 'the Kubernetes API failed';
    this.opts.log?.log('warn', `cannot name pods: ${why}; bursts name them by address until it works`, { error: e.code, detail: e.message, node: this.opts.nodeName });
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.resolveWait = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }
}

/** A pod object's uid, namespace, name and addresses; null for a pod on the host's network (its address is the node's) or a malformed one. */
function podOf(obj: unknown): { uid: string; meta: PodMeta } | null {
  const o = obj as { metadata?: { uid?: unknown; namespace?: unknown; name?: unknown }; spec?: { hostNetwork?: unknown }; status?: { podIP?: unknown; podIPs?: unknown } } | null;
  const m = o?.metadata;
  if (typeof m?.uid !== 'string' || typeof m.namespace !== 'string' || typeof m.name !== 'string') return null;
  const ips: string[] = [];
  if (o?.spec?.hostNetwork !== true) {
    const list = Array.isArray(o?.status?.podIPs) ? (o.status.podIPs as { ip?: unknown }[]) : [];
    for (const p of list) if (typeof p?.ip === 'string') ips.push(p.ip);
    if (ips.length === 0 && typeof o?.status?.podIP === 'string') ips.push(o.status.podIP);
  }
  return { uid: m.uid, meta: { namespace: m.namespace, name: m.name, ips } };
}
