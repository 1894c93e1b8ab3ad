// Measurement 7: what one netlink dump of every interface's counters costs
// (native/links.h) on a node with many pods, against reading the same
// counters from sysfs: N veth pairs made in one batch, peers in a namespace
// the bench creates and removes, then repeated dumps timed with process CPU
// (the dump runs on the libuv pool, so the calling thread's own clock would
// miss it). Then the whole poll serve runs (src/talkers/link-poller.ts: the
// dump, the veths with host routes picked out, a snapshot built), with a
// host route per veth in the benchmarking range 198.18.0.0/15 as a CNI
// would install for each pod (no packet is sent), and what it costs while a
// burst is open, when serve polls every LINK_POLL_FAST_MS.

import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NativeAddon } from '../sampling/native.js';
import { checkAborted, type BenchContext } from './context.js';
import { LINK_POLL_FAST_MS, LinkPoller } from '../talkers/link-poller.js';
import type { LinkSnapshot } from '../talkers/top-talkers.js';

export interface LinksRow {
  veths: number;
  /** Interfaces the dump returned (the veths and the host's own). */
  interfaces: number;
  dumps: number;
  cpuUsPerDump: number;
  wallUsPerDump: number;
  /** The same counters read from sysfs instead: four files per veth. */
  sysfsCpuUs: number;
  /** A whole poll (dump, pod veths picked by host route, snapshot), CPU; and the pods it found. */
  cpuUsPerPoll: number;
  pods: number;
  /** Polls per second while a burst is open, and the share of one core they take. */
  burstPollsPerSecond: number;
  burstCpuPercent: number;
}

export interface LinksResult {
  status: 'ok';
  rows: LinksRow[];
}

const TRAFFIC_FILES = ['rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes'];

export async function measureLinks(ctx: BenchContext, addon: NativeAddon): Promise<LinksResult> {
  const counts = ctx.quick ? [100] : [100, 500];
  const rows: LinksRow[] = [];
  for (const n of counts) {
    ctx.progress(`7 pod veth counters: one netlink dump with ${n} veths`);
    rows.push(await measureOne(ctx, addon, n));
  }
  return { status: 'ok', rows };
}

async function measureOne(ctx: BenchContext, addon: NativeAddon, n: number): Promise<LinksRow> {
  const tag = `${process.pid % 100_000}`;
  const ns = `ebbenchl${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'ethburst-bench-links-'));
  // Deleting the namespace deletes the peers, and with each peer its pair.
  const remove = ctx.cleanup.add(`netns ${ns}`, () => {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // Not there (creation failed).
    }
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    const batch: string[] = [];
    for (let i = 0; i < n; i++) {
      batch.push(`link add ebl${tag}v${i} type veth peer name ebl${tag}p${i} netns ${ns}`, `link set ebl${tag}v${i} up`);
      batch.push(`route add 198.18.${i >> 8}.${i & 255}/32 dev ebl${tag}v${i} scope link`);
    }
    writeFileSync(join(dir, 'batch'), `${batch.join('\n')}\n`);
    execFileSync('ip', ['-batch', join(dir, 'batch')]);
    checkAborted(ctx.signal);

    const out = new Float64Array(5 * (n + 256));
    for (let i = 0; i < 10; i++) await addon.linkCounters(out);
    const dumps = ctx.quick ? 50 : 200;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let found = 0;
    for (let i = 0; i < dumps; i++) found = await addon.linkCounters(out);
    const wall = ((performance.now() - t0) * 1000) / dumps;
    const c = process.cpuUsage(c0);
    if (found < 0) throw new Error(`the netlink dump failed: errno ${-found}`);

    const fds: number[] = [];
    const buf = Buffer.alloc(64);
    let sysfs = 0;
    try {
      for (let i = 0; i < n; i++) for (const f of TRAFFIC_FILES) fds.push(openSync(`/sys/class/net/ebl${tag}v${i}/statistics/${f}`, 'r'));
      const rounds = 10;
      const s0 = process.cpuUsage();
      for (let r = 0; r < rounds; r++) for (const fd of fds) readSync(fd, buf, 0, buf.length, 0);
      const s = process.cpuUsage(s0);
      sysfs = (s.user + s.system) / rounds;
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    // The poll as serve runs it: the first reads the interfaces and routes; then as while a burst is open.
    let pods = 0;
    const sink = { sample() {}, links: (l: Readonly<LinkSnapshot>) => void (pods = l.names.length) };
    const poller = new LinkPoller({ addon, burstOpen: () => true });
    // Steady state, as a long-running serve polls: the first few hundred polls run unoptimised code (5x slower).
    for (let i = 0; i < 300; i++) await poller.poll(sink);
    const p0 = process.cpuUsage();
    for (let i = 0; i < dumps; i++) await poller.poll(sink);
    const p = process.cpuUsage(p0);
    const cpuUsPerPoll = (p.user + p.system) / dumps;
    const burstPollsPerSecond = 1000 / LINK_POLL_FAST_MS;
    return {
      veths: n,
      interfaces: found,
      dumps,
      cpuUsPerDump: (c.user + c.system) / dumps,
      wallUsPerDump: wall,
      sysfsCpuUs: sysfs,
      cpuUsPerPoll,
      pods,
      burstPollsPerSecond,
      burstCpuPercent: (cpuUsPerPoll * burstPollsPerSecond) / 1e4,
    };
  } finally {
    remove();
  }
}
