// Kubernetes Events on the Node for bursts of allowance drops, the way
// node-problem-detector and the EKS node monitoring agent report transient
// node problems: events.k8s.io/v1 Events of type Warning, never Node
// conditions (conditions drive node auto-repair). The reasons are the EKS
// agent's where it has one, so existing alerts and searches keep working.
//
// One Event per (reason) series: a burst within SERIES_WINDOW_MS of the
// last one of its reason adds to the Event's `series` (count and last
// observed time, as client-go's events library does; the API makes note,
// reason and eventTime immutable) instead of creating another object. Writes
// are at most one per reason per MIN_WRITE_INTERVAL_MS: bursts between them
// are counted and written together. A failing or hanging API never reaches
// sampling: calls run on their own with a deadline, and what they could not
// write is kept (as a count) and written when the API answers again.

import { FailureReport, type Logger } from '../log.js';
import type { BurstEvent } from '../aggregation/aggregator.js';
import { KubeApiError, statusError, type KubeApi } from './api-client.js';
import { topPodText } from '../talkers/top-talkers.js';

/** The EKS node monitoring agent's reasons for the ENA allowance counters. */
export const EVENT_REASONS: Readonly<Record<string, string>> = {
  bw_in_allowance_exceeded: 'BandwidthInExceeded',
  bw_out_allowance_exceeded: 'BandwidthOutExceeded',
  pps_allowance_exceeded: 'PPSExceeded',
  conntrack_allowance_exceeded: 'ConntrackExceeded',
  linklocal_allowance_exceeded: 'LinkLocalExceeded',
};

/** A burst this close after the last of its reason joins that Event's series (client-go's window). */
export const SERIES_WINDOW_MS = 6 * 60_000;
/** At most one write per reason this often. */
export const MIN_WRITE_INTERVAL_MS = 30_000;
/** After a failed write, wait at least this long, doubling up to MAX_BACKOFF_MS. */
const MAX_BACKOFF_MS = 10 * 60_000;
/** The API's limit on `note`, bytes. */
export const NOTE_LIMIT_BYTES = 1024;
/** Node events live in the default namespace (a Node has none). */
const NAMESPACE = 'default';
export const REPORTING_CONTROLLER = 'ethburst';

export interface NodeEventsOptions {
  readonly api: KubeApi;
  readonly nodeName: string;
  /** Bursts that dropped fewer packets than this make no Event. */
  readonly minDrops: number;
  readonly log?: Logger;
  readonly now?: () => number;
  /** Defaults SERIES_WINDOW_MS and MIN_WRITE_INTERVAL_MS (shorter in tests). */
  readonly seriesWindowMs?: number;
  readonly minWriteIntervalMs?: number;
}

/** What was written, for /api/devices. */
export interface NodeEventsStats {
  created: number;
  patched: number;
  failed: number;
  /** Bursts counted but not yet written (waiting for the rate limit or a working API). */
  pending: number;
  error: string | null;
}

interface Occurrences {
  count: number;
  firstMs: number;
  lastMs: number;
  note: string;
}

interface ReasonState {
  readonly reason: string;
  /** The Event on the server for this reason's current series. */
  event: { name: string; count: number; lastMs: number } | null;
  /** Bursts not yet written: a new Event (event === null) or more of the series. */
  pending: Occurrences | null;
  /** Bursts of the write under way: still not written until the API says so. */
  writing: number;
  nextWriteMs: number;
  backoffMs: number;
  timer: NodeJS.Timeout | null;
  busy: Promise<void> | null;
}

export class NodeEvents {
  private readonly states = new Map<string, ReasonState>();
  private readonly now: () => number;
  private readonly reported = new FailureReport();
  private closed = false;
  private sequence = 0;
  private readonly seriesWindowMs: number;
  private readonly minIntervalMs: number;
  created = 0;
  patched = 0;
  failed = 0;
  error: string | null = null;

  constructor(private readonly opts: NodeEventsOptions) {
    this.now = opts.now ?? Date.now;
    this.seriesWindowMs = opts.seriesWindowMs ?? SERIES_WINDOW_MS;
    this.minIntervalMs = opts.minWriteIntervalMs ?? MIN_WRITE_INTERVAL_MS;
  }

  /** A finished burst (a listener's view, read now and not kept). */
  onBurst(e: Readonly<BurstEvent>): void {
    const reason = EVENT_REASONS[e.stat];
    if (reason === undefined || e.increase < this.opts.minDrops || this.closed) return;
    let st = this.states.get(reason);
    if (st === undefined) {
      st = { reason, event: null, pending: null, writing: 0, nextWriteMs: 0, backoffMs: this.minIntervalMs, timer: null, busy: null };
      this.states.set(reason, st);
    }
    const last = st.pending?.lastMs ?? st.event?.lastMs ?? Number.NEGATIVE_INFINITY;
    if (st.pending === null && st.event !== null && e.startMs - last > this.seriesWindowMs) st.event = null;
    if (st.pending === null) st.pending = { count: 0, firstMs: e.startMs, lastMs: e.startMs, note: '' };
    st.pending.count++;
    st.pending.lastMs = Math.max(st.pending.lastMs, e.startMs);
    // A new Event says what its first burst was; the series counts the rest (the API keeps note immutable).
    if (st.pending.note === '') st.pending.note = eventNote(e);
    this.schedule(st);
  }

  stats(): NodeEventsStats {
    let pending = 0;
    for (const st of this.states.values()) pending += (st.pending?.count ?? 0) + st.writing;
    return { created: this.created, patched: this.patched, failed: this.failed, pending, error: this.error };
  }

  /** Writes what is pending once more and stops; waits at most waitMs (shutdown must not hang on the API). */
  async close(waitMs = 3000): Promise<void> {
    this.closed = true;
    const all: Promise<void>[] = [];
    for (const st of this.states.values()) {
      if (st.timer) clearTimeout(st.timer);
      st.timer = null;
      all.push((st.busy ?? Promise.resolve()).then(() => (st.pending ? this.write(st) : undefined)));
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(all), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  private schedule(st: ReasonState): void {
    if (st.timer !== null || st.busy !== null || this.closed) return;
    const delay = Math.max(0, st.nextWriteMs - this.now());
    st.timer = setTimeout(() => {
      st.timer = null;
      st.busy = this.write(st).finally(() => {
        st.busy = null;
        if (st.pending) this.schedule(st);
      });
    }, delay);
    st.timer.unref();
  }

  private async write(st: ReasonState): Promise<void> {
    const p = st.pending;
    if (p === null) return;
    st.pending = null;
    st.writing = p.count;
    try {
      if (st.event === null) await this.create(st, p);
      else await this.patch(st.event, p);
      st.backoffMs = this.minIntervalMs;
      st.nextWriteMs = this.now() + this.minIntervalMs;
      this.working();
    } catch (err) {
      const e = err instanceof KubeApiError ? err : new KubeApiError(String(err), 'EIO', null);
      this.failed++;
      // 404 on a patch: the Event expired (the API keeps them an hour); the next write creates one.
      if (e.status === 404) st.event = null;
      const invalid = e.status === 400 || e.status === 422;
      if (!invalid) {
        // Kept, merged with what came meanwhile, for the next try.
        const q = st.pending as Occurrences | null;
        st.pending = q === null ? p : { count: p.count + q.count, firstMs: p.firstMs, lastMs: Math.max(p.lastMs, q.lastMs), note: p.note };
      }
      st.nextWriteMs = this.now() + st.backoffMs;
      st.backoffMs = Math.min(MAX_BACKOFF_MS, st.backoffMs * 2);
      this.report(e, invalid);
    } finally {
      st.writing = 0;
    }
  }

  private async create(st: ReasonState, p: Occurrences): Promise<void> {
    // client-go's NAME.HEXNANOS, plus a sequence: two reasons' bursts can begin on the same tick.
    const name = `${this.opts.nodeName}.${(BigInt(Math.round(p.firstMs)) * 1_000_000n + BigInt(this.sequence++)).toString(16)}`;
    const body: Record<string, unknown> = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace: NAMESPACE },
      eventTime: microTime(p.firstMs),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: `${REPORTING_CONTROLLER}-${this.opts.nodeName}`.slice(0, 128),
      action: 'DroppedPackets',
      reason: st.reason,
      type: 'Warning',
      // uid = the node's name, as the kubelet refers to its Node: `kubectl describe node` lists these.
      regarding: { apiVersion: 'v1', kind: 'Node', name: this.opts.nodeName, uid: this.opts.nodeName },
      note: p.note,
    };
    if (p.count > 1) body['series'] = { count: p.count, lastObservedTime: microTime(p.lastMs) };
    const res = await this.opts.api.request('POST', `/apis/events.k8s.io/v1/namespaces/${NAMESPACE}/events`, body);
    if (res.status !== 201 && res.status !== 200) throw statusError('create event', res.status, res.body);
    st.event = { name, count: p.count, lastMs: p.lastMs };
    this.created++;
  }

  private async patch(ev: { name: string; count: number; lastMs: number }, p: Occurrences): Promise<void> {
    const count = ev.count + p.count;
    const lastMs = Math.max(ev.lastMs, p.lastMs);
    const body = { series: { count, lastObservedTime: microTime(lastMs) } };
    const res = await this.opts.api.request('PATCH', `/apis/events.k8s.io/v1/namespaces/${NAMESPACE}/events/${encodeURIComponent(ev.name)}`, body, 'application/merge-patch+json');
    if (res.status !== 200) throw statusError('patch event', res.status, res.body);
    ev.count = count;
    ev.lastMs = lastMs;
    this.patched++;
  }

  private working(): void {
    this.error = null;
    if (this.reported.recovered()) {
      this.opts.log?.log('info', 'writing Kubernetes events again');
    }
  }

  private report(e: KubeApiError, dropped: boolean): void {
    this.error = e.code;
    if (!this.reported.failed(e.code)) return;
    this.opts.log?.log('warn', dropped ? 'the Kubernetes API refused an event; it is dropped' : 'cannot write Kubernetes events; the bursts are counted and written when the API answers', {
      error: e.code,
      detail: e.message,
    });
  }
}

/** The Event's note: what the burst was, what it most likely means, who sent the traffic; within the API's 1 KiB. */
export function eventNote(e: Readonly<BurstEvent>): string {
  const pods = (e.topPods ?? []).slice(0, 3).map(topPodText);
  // The diagnosis sentence already says how many, how long and on which interface.
  const text = `${e.stat}: ${e.diagnosis.summary} Peak ${Math.round(e.peakRatePerSecond).toLocaleString('en-US')} drops/s.${pods.length ? ` Top pods: ${pods.join(', ')}.` : ''}`;
  return truncateBytes(text, NOTE_LIMIT_BYTES);
}

function truncateBytes(text: string, limit: number): string {
  if (Buffer.byteLength(text) <= limit) return text;
  let out = text;
  while (Buffer.byteLength(`${out}…`) > limit) out = out.slice(0, -1);
  return `${out}…`;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  const iso = new Date(Math.floor(ms)).toISOString(); // ...T10:00:00.123Z
  const micros = String(Math.floor((ms - Math.floor(ms)) * 1000)).padStart(3, '0');
  return `${iso.slice(0, -1)}${micros}Z`;
}
