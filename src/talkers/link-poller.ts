// The pods' host-side veths, polled: one netlink dump of every interface's
// counters (native/links.h) every second, and every 200 ms while a burst is
// open so its end is placed closely, handed to the sink as a LinkSnapshot.
// A pod veth is a veth with a host route to an address (the route a CNI
// installs for each pod), so this needs no CNI-specific name list and stays
// quiet on a host without pods. A failing dump is logged once and
// polled again; it never touches sampling.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FailureReport, type Logger } from '../log.js';
import { describeErrno } from '../errors.js';
import type { NativeAddon } from '../sampling/native.js';
import type { SampleSink } from '../sampling/sample.js';
import { readHostRoutes, type HostRoutes } from './routes.js';
import type { LinkSnapshot } from './top-talkers.js';

export const LINK_POLL_MS = 1000;
export const LINK_POLL_FAST_MS = 200;
/** How often the poller looks whether the devices have been sampled yet. */
const POLL_READY_MS = 20;
/** Host routes are read again this often, and when an interface appears. */
const ROUTES_EVERY_MS = 10_000;

export interface LinkPollerOptions {
  readonly addon: Pick<NativeAddon, 'linkCounters'>;
  /** Whether a burst is open now: the poller then polls every `fastMs`. */
  readonly burstOpen: () => boolean;
  /**
   * Whether the devices have been sampled: until then a snapshot has no
   * device packets to share against, so the first dump waits for it.
   */
  readonly ready?: () => boolean;
  readonly intervalMs?: number;
  readonly fastMs?: number;
  readonly log?: Logger;
  /** The pod (namespace/name) with an address, where the Kubernetes API says (src/kubernetes/pod-directory.ts). */
  readonly podOf?: (ip: string) => string | null;
  /** Injectable for tests: the host routes, and the interfaces by ifindex. */
  readonly routes?: () => HostRoutes;
  readonly interfaces?: () => Map<number, Interface>;
}

export interface Interface {
  name: string;
  /** One end of a pair (a veth): no device behind it, and its link is another interface. */
  veth: boolean;
}

/** This namespace's interfaces by ifindex, from sysfs. */
export function sysfsInterfaces(sysNet = '/sys/class/net'): Map<number, Interface> {
  const out = new Map<number, Interface>();
  let names: string[];
  try {
    names = readdirSync(sysNet);
  } catch {
    return out;
  }
  for (const name of names) {
    try {
      const ifindex = Number(readFileSync(join(sysNet, name, 'ifindex'), 'utf8'));
      const iflink = Number(readFileSync(join(sysNet, name, 'iflink'), 'utf8'));
      // A NIC has a device; a veth's iflink is its peer's ifindex (a tunnel's is 0 or its own).
      out.set(ifindex, { name, veth: !existsSync(join(sysNet, name, 'device')) && iflink !== ifindex && iflink !== 0 });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** The poller's counts, in /api/devices as `links`. */
export interface LinkPollStats {
  polls: number;
  failures: number;
  /** Pod veths seen in the last good dump. */
  veths: number;
  /** When that dump was taken (ms since the epoch), null before one. */
  lastMs: number | null;
}

export class LinkPoller {
  private readonly intervalMs: number;
  private readonly fastMs: number;
  private readonly readRoutes: () => HostRoutes;
  private readonly readInterfaces: () => Map<number, Interface>;
  private buf = new Float64Array(5 * 256);
  private byIndex = new Map<number, Interface>();
  private routes: HostRoutes = new Map();
  private routesAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly failing = new FailureReport();
  /** Polls done, those that failed, the pod veths in the last good one, and its time. */
  polls = 0;
  failures = 0;
  veths = 0;
  lastMs: number | null = null;

  constructor(private readonly opts: LinkPollerOptions) {
    this.intervalMs = opts.intervalMs ?? LINK_POLL_MS;
    this.fastMs = opts.fastMs ?? LINK_POLL_FAST_MS;
    this.readRoutes = opts.routes ?? (() => readHostRoutes());
    this.readInterfaces = opts.interfaces ?? (() => sysfsInterfaces());
  }

  /** Polls until stop(), handing each snapshot to the sink. */
  start(sink: SampleSink): void {
    const loop = async (): Promise<void> => {
      if (this.stopped) return;
      const ready = this.opts.ready?.() ?? true;
      if (ready) await this.poll(sink);
      if (this.stopped) return;
      this.timer = setTimeout(() => void loop(), !ready ? POLL_READY_MS : this.opts.burstOpen() ? this.fastMs : this.intervalMs);
      // Polling alone never keeps the process alive.
      this.timer.unref();
    };
    void loop();
  }

  /** What /api/devices says about the polling. */
  stats(): LinkPollStats {
    return { polls: this.polls, failures: this.failures, veths: this.veths, lastMs: this.lastMs };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  /** One dump, mapped to the pod veths; exported for tests. */
  async poll(sink: SampleSink): Promise<void> {
    let n = await this.opts.addon.linkCounters(this.buf);
    if (n > this.buf.length / 5) {
      this.buf = new Float64Array(5 * (n + 64));
      n = await this.opts.addon.linkCounters(this.buf);
    }
    const timeMs = Date.now();
    this.polls++;
    if (n < 0) {
      this.failures++;
      if (this.failing.failed(n)) {
        const [code] = describeErrno(-n);
        this.opts.log?.log('warn', 'cannot read the pod veths’ counters (RTM_GETSTATS); bursts will not name pods until it works', { error: code });
      }
      return;
    }
    if (this.failing.recovered()) {
      this.opts.log?.log('info', 'reading the pod veths’ counters again');
    }
    const count = Math.min(n, this.buf.length / 5);
    // A new interface: its name (and the routes, which may now point at it).
    let unknown = false;
    for (let i = 0; i < count; i++) if (!this.byIndex.has(this.buf[5 * i]!)) unknown = true;
    if (unknown) this.byIndex = this.readInterfaces();
    if (unknown || timeMs - this.routesAt >= ROUTES_EVERY_MS) {
      this.routes = this.readRoutes();
      this.routesAt = timeMs;
    }
    const names: string[] = [];
    const ips: string[][] = [];
    const values: number[] = [];
    const podOf = this.opts.podOf;
    const pods: (string | null)[] = [];
    let named = false;
    for (let i = 0; i < count; i++) {
      const link = this.byIndex.get(this.buf[5 * i]!);
      const routed = link?.veth ? this.routes.get(link.name) : undefined;
      if (link === undefined || routed === undefined) continue;
      names.push(link.name);
      ips.push(routed);
      if (podOf) {
        let pod: string | null = null;
        for (let a = 0; a < routed.length && pod === null; a++) pod = podOf(routed[a]!);
        pods.push(pod);
        if (pod !== null) named = true;
      }
      for (let k = 1; k <= 4; k++) values.push(this.buf[5 * i + k]!);
    }
    this.veths = names.length;
    this.lastMs = timeMs;
    // No pod here: nothing to say (and bursts say nothing about pods).
    if (names.length === 0) return;
    const snap: LinkSnapshot = { timeMs, names, ips, values: Float64Array.from(values), ...(named ? { pods } : {}) };
    sink.links?.(snap);
  }
}
