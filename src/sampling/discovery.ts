// Which interfaces to sample. By default every ENA interface; on a machine
// without one (a laptop, CI), every interface backed by a device whose stats
// can be read, so eth0 on a VM is sampled out of the box. Pod veths, bridges
// and loopback have no /sys/class/net/X/device and are left alone: sampling
// every veth is how node_exporter's ethtool collector grew series counts by
// a quarter on busy nodes.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NativeProbe } from './native.js';
import type { DeviceInfo } from './sample.js';
import { EthtoolError, type EthtoolOp } from '../errors.js';

export interface DeviceSelection {
  /** Exactly these devices (--device); the rules below are then not used. */
  readonly devices: readonly string[];
  /** Any interface whose name matches one of these and whose stats can be read. */
  readonly include: readonly RegExp[];
  /** Never these. */
  readonly exclude: readonly RegExp[];
}

/** The host facts discovery needs, injectable for tests. */
export interface DiscoveryHost {
  /** Interface names present now. */
  interfaces(): string[];
  /** Whether the interface is backed by a device (has /sys/class/net/X/device). */
  hasDevice(name: string): boolean;
  /** A number that changes when an interface is re-created under the same name. */
  ifindex(name: string): number;
  /** The interface's hardware address, '' when unknown. */
  mac?(name: string): string;
  probe(name: string): Promise<NativeProbe>;
}

export interface Candidate {
  readonly info: DeviceInfo;
  readonly ifindex: number;
  readonly nStats: number;
}

export interface DiscoveryResult {
  readonly selected: Candidate[];
  /** Explicitly requested devices that could not be used, with the reason. */
  readonly failed: EthtoolError[];
}

const SYS_NET = '/sys/class/net';

export function sysfsHost(probe: (name: string) => Promise<NativeProbe>, sysNet = SYS_NET): DiscoveryHost {
  return {
    interfaces() {
      try {
        return readdirSync(sysNet).sort();
      } catch {
        // No sysfs (a minimal container): /proc/net/dev lists the same names.
        try {
          return readFileSync('/proc/net/dev', 'utf8')
            .split('\n')
            .slice(2)
            .map((l) => l.split(':')[0]!.trim())
            .filter((n) => n !== '')
            .sort();
        } catch {
          return [];
        }
      }
    },
    hasDevice: (name) => existsSync(join(sysNet, name, 'device')),
    ifindex(name) {
      try {
        return Number(readFileSync(join(sysNet, name, 'ifindex'), 'utf8').trim()) || 0;
      } catch {
        return 0;
      }
    },
    mac(name) {
      try {
        return readFileSync(join(sysNet, name, 'address'), 'utf8').trim();
      } catch {
        return '';
      }
    },
    probe,
  };
}

export function probeError(p: NativeProbe, device: string): EthtoolError | null {
  if (p.errno === 0) return null;
  return new EthtoolError(p.errno, device, p.op as EthtoolOp);
}

function macOf(host: DiscoveryHost, name: string): { mac?: string } {
  const mac = host.mac?.(name) ?? '';
  return mac === '' ? {} : { mac };
}

function toCandidate(name: string, p: NativeProbe, host: DiscoveryHost): Candidate {
  return {
    info: { name, driver: p.driver, driverVersion: p.driverVersion, firmwareVersion: p.firmwareVersion, busInfo: p.busInfo, ...macOf(host, name) },
    ifindex: host.ifindex(name),
    nStats: p.nStats,
  };
}

/**
 * Applies the selection rules to the host's interfaces. `extra` names are
 * probed even when sysfs does not list them (fake devices answered by an
 * LD_PRELOAD shim).
 */
export async function discover(sel: DeviceSelection, host: DiscoveryHost, extra: readonly string[] = []): Promise<DiscoveryResult> {
  const selected: Candidate[] = [];
  const failed: EthtoolError[] = [];
  if (sel.devices.length > 0) {
    for (const name of sel.devices) {
      const p = await host.probe(name);
      const err = probeError(p, name);
      if (err) failed.push(err);
      else selected.push(toCandidate(name, p, host));
    }
    return { selected, failed };
  }

  const names = [...new Set([...host.interfaces(), ...extra])];
  const excluded = (n: string): boolean => sel.exclude.some((re) => re.test(n));
  const readable: { name: string; p: NativeProbe }[] = [];
  for (const name of names) {
    if (excluded(name)) continue;
    if (sel.include.length > 0 && !sel.include.some((re) => re.test(name))) continue;
    const p = await host.probe(name);
    if (p.errno === 0 && p.nStats > 0) readable.push({ name, p });
  }
  if (sel.include.length > 0) {
    return { selected: readable.map(({ name, p }) => toCandidate(name, p, host)), failed };
  }
  const ena = readable.filter(({ p }) => p.driver === 'ena');
  const chosen = ena.length > 0 ? ena : readable.filter(({ name }) => host.hasDevice(name) || extra.includes(name));
  return { selected: chosen.map(({ name, p }) => toCandidate(name, p, host)), failed };
}

/**
 * What `serve` says when nothing it samples can show an allowance drop: on a
 * laptop or CI VM the default run samples eth0 (virtio_net, say) and the page
 * stays empty, which looks broken. Null when some device is ENA (its
 * *_allowance_exceeded are tracked) or the user chose stats with --burst-stat.
 */
export function samplingNotice(devices: readonly { readonly name: string; readonly driver: string }[], burstStatGiven: boolean): string | null {
  if (devices.length === 0 || burstStatGiven || devices.some((d) => d.driver === 'ena')) return null;
  const list = devices.map((d) => `${d.name} (${d.driver || 'unknown driver'})`).join(', ');
  const have = devices.length === 1 ? 'has' : 'have';
  const its = devices.length === 1 ? 'its' : 'their';
  return `no ENA device found: sampling ${list}, which ${have} no allowance counters; try --source simulate to see bursts, or --burst-stat RE to track one of ${its} counters (e.g. --burst-stat 'drops$')`;
}
