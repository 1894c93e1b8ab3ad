// Real-kernel fixtures: veth pairs whose peer lives in a network namespace
// the test creates, deleted again afterwards. Needs root (CI runs as root);
// suites gate on `canUseNetns` and say why they skip.

import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

export const isRoot = process.getuid?.() === 0;

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export const haveIp = have('ip');
export const haveEthtool = have('ethtool');
export const canUseNetns = isRoot && haveIp;
export const netnsSkipReason = !isRoot ? 'needs root to create network namespaces and veth pairs' : !haveIp ? 'needs iproute2 (ip)' : '';

/** Whether any interface here is ENA: then `serve` has allowance counters to show and no notice to give. */
export const enaHere = (() => {
  try {
    return readdirSync('/sys/class/net').some((n) => {
      try {
        return basename(readlinkSync(`/sys/class/net/${n}/device/driver`)) === 'ena';
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
})();

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let counter = 0;

/** A short unique name (interface names are limited to 15 bytes). */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}${process.pid % 100000}${counter}`.slice(0, 15);
}

export interface VethPair {
  /** The end in our namespace, the one the sampler reads. */
  readonly name: string;
  readonly peer: string;
  readonly netns: string;
  remove(): void;
}

/** Creates a veth whose peer is in a namespace (a fresh one unless `netns` names an existing one). */
export function createVeth(opts: { queues?: number; prefix?: string; netns?: string } = {}): VethPair {
  const name = uniqueName(opts.prefix ?? 'ebt');
  const peer = uniqueName('ebp');
  const ownNetns = opts.netns === undefined;
  const netns = opts.netns ?? uniqueName('ebns');
  if (ownNetns) sh('ip', ['netns', 'add', netns]);
  const q = opts.queues ? ['numtxqueues', String(opts.queues), 'numrxqueues', String(opts.queues)] : [];
  sh('ip', ['link', 'add', name, ...q, 'type', 'veth', 'peer', 'name', peer, ...q, 'netns', netns]);
  sh('ip', ['link', 'set', name, 'up']);
  sh('ip', ['-n', netns, 'link', 'set', peer, 'up']);
  let removed = false;
  return {
    name,
    peer,
    netns,
    remove() {
      if (removed) return;
      removed = true;
      spawnSync('ip', ['link', 'del', name]);
      if (ownNetns) spawnSync('ip', ['netns', 'del', netns]);
    },
  };
}

/** A network namespace for many veth peers; `remove()` deletes it. */
export function createNetns(): { name: string; remove(): void } {
  const name = uniqueName('ebns');
  sh('ip', ['netns', 'add', name]);
  return { name, remove: () => void spawnSync('ip', ['netns', 'del', name]) };
}

/** `ethtool -S DEV` as an ordered list of [name, value]. */
export function ethtoolStats(dev: string): [string, bigint][] {
  const out = sh('ethtool', ['-S', dev]);
  const rows: [string, bigint][] = [];
  for (const line of out.split('\n').slice(1)) {
    const m = /^\s+(.+?):\s+(\d+)\s*$/.exec(line);
    if (m) rows.push([m[1]!, BigInt(m[2]!)]);
  }
  return rows;
}

export function openFds(pid: number | 'self' = 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function threadCount(pid: number | 'self' = 'self'): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

/** Busy-waits, blocking the event loop, as a slow scrape or a GC storm would. */
export function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* spin */
  }
}
