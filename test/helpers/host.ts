// What the real-kernel tests need from this host beyond src/harness (whose
// netns.ts makes the veth pairs and namespaces): root, ethtool, ENA, and
// the process's own fds and threads. Suites gate on `canUseNetns` and say
// why they skip.

import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { vethUnavailable } from '../../src/harness/netns.js';
import { which } from '../../src/harness/which.js';

export const isRoot = process.getuid?.() === 0;
export const haveEthtool = which('ethtool') !== null;
/** Why veth tests skip here ('' when they can run). */
export const netnsSkipReason = vethUnavailable() ?? '';
export const canUseNetns = netnsSkipReason === '';

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
