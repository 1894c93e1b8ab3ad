// The native devices the bench samples: the real NICs discovery picks (or
// --device), topped up to a fixed count with veth pairs whose peers live
// in a namespace the bench creates. Non-ENA drivers have no
// *_allowance_exceeded counters, so the bench also tracks `drops$` (the
// README's --burst-stat example for virtio): it gives the aggregation real
// per-stat work, as the five ENA allowance counters would.

import { discover, sysfsHost } from '../sampling/discovery.js';
import { UsageError, errnoCode } from '../errors.js';
import { loadNative, type NativeAddon } from '../sampling/native.js';
import { createVeths, vethUnavailable, type VethGroup } from '../harness/netns.js';
import type { BenchContext } from './context.js';

export const BENCH_BURST_STAT = 'drops$';

export interface BenchDevice {
  name: string;
  driver: string;
  nStats: number;
  kind: 'nic' | 'veth';
}

export interface DeviceSet {
  status: 'ok';
  devices: BenchDevice[];
  veths: VethGroup | null;
  /** How the set was made, and what could not be done. */
  notes: string[];
  addon: NativeAddon | null;
  /** Why nothing native can be measured, or null. */
  unavailable: string | null;
}

function loadAddon(): { addon: NativeAddon | null; why: string | null } {
  try {
    return { addon: loadNative(), why: null };
  } catch (err) {
    return { addon: null, why: `the native addon cannot be loaded (${(err as Error).message})` };
  }
}

/** Checks explicit --device names before anything starts (a bad name is a usage error). */
export function checkExplicitDevices(names: readonly string[]): void {
  if (names.length === 0) return;
  const { addon, why } = loadAddon();
  if (!addon) throw new UsageError(`--device needs the native addon: ${why}`);
  for (const name of names) {
    const p = addon.probeSync(name);
    if (p.errno !== 0) throw new UsageError(`--device ${name}: ${p.errno === 19 ? 'no such interface' : `it has no readable ethtool statistics (${errnoCode(p.errno)})`}`);
  }
}

export async function prepareDevices(ctx: BenchContext, explicit: readonly string[], total: number): Promise<DeviceSet> {
  const notes: string[] = [];
  const { addon, why } = loadAddon();
  if (!addon) return { status: 'ok', devices: [], veths: null, notes, addon: null, unavailable: why };
  const describe = (name: string, kind: BenchDevice['kind']): BenchDevice | null => {
    const p = addon.probeSync(name);
    return p.errno === 0 ? { name, driver: p.driver, nStats: p.nStats, kind } : null;
  };
  if (explicit.length > 0) {
    const devices = explicit.map((n) => describe(n, 'nic')).filter((d): d is BenchDevice => d !== null);
    notes.push(`devices named with --device: ${explicit.join(', ')} (no veths created)`);
    return { status: 'ok', devices, veths: null, notes, addon, unavailable: devices.length ? null : 'no --device could be read' };
  }
  const found = await discover({ devices: [], include: [], exclude: [] }, sysfsHost((n) => addon.probe(n)));
  const devices: BenchDevice[] = found.selected.map((c) => ({ name: c.info.name, driver: c.info.driver, nStats: c.nStats, kind: 'nic' }));
  if (devices.length > total) devices.length = total;
  let veths: VethGroup | null = null;
  const missing = total - devices.length;
  if (missing > 0) {
    const cannot = vethUnavailable();
    if (cannot) {
      notes.push(`only ${devices.length} real NIC(s); no veths added: ${cannot}`);
    } else {
      try {
        veths = createVeths(missing);
        const group = veths;
        ctx.cleanup.add(`netns ${group.netns}`, () => group.remove());
        for (const n of veths.names) {
          const d = describe(n, 'veth');
          if (d) devices.push(d);
        }
        notes.push(`${devices.filter((d) => d.kind === 'nic').length} real NIC(s) + ${veths.names.length} veth(s) whose peers are in netns ${veths.netns} (created by the bench, removed at the end)`);
      } catch (err) {
        notes.push(`only ${devices.length} real NIC(s); veths failed: ${(err as Error).message}`);
      }
    }
  }
  return { status: 'ok', devices, veths, notes, addon, unavailable: devices.length ? null : 'no readable network device (name one with --device)' };
}
