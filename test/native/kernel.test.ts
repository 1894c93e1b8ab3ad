// The real addon against real kernel drivers: virtio_net eth0, loopback,
// a missing device, and the sampler's behaviour when JavaScript stalls.

import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { EthtoolError } from '../../src/errors.js';
import { probeError } from '../../src/sampling/discovery.js';
import { loadNative } from '../../src/sampling/native.js';
import { NativeSource } from '../../src/sampling/native-source.js';
import type { Sample } from '../../src/sampling/sample.js';
import { u64ToString } from '../../src/sampling/u64.js';
import { createVeth } from '../../src/harness/netns.js';
import { blockEventLoop, canUseNetns, ethtoolStats, haveEthtool, netnsSkipReason, openFds } from '../helpers/host.js';

const addon = loadNative();
const hasEth0 = existsSync('/sys/class/net/eth0');

function source(devices: string[], extra: Partial<ConstructorParameters<typeof NativeSource>[0]> = {}): NativeSource {
  return new NativeSource({ intervalMs: 100, drainMs: 100, rescanMs: 0, selection: { devices, include: [], exclude: [] }, ...extra });
}

interface Copy {
  device: string;
  timeMs: number;
  error: string | null;
  names: readonly string[];
  values: string[];
}

function collect(into: Copy[]) {
  return {
    sample(s: Readonly<Sample>) {
      const values: string[] = [];
      if (s.error === null) for (let i = 0; i < s.layout.names.length; i++) values.push(u64ToString(s.values[2 * i]!, s.values[2 * i + 1]!));
      into.push({ device: s.device, timeMs: s.timeMs, error: s.error, names: s.layout.names, values });
    },
  };
}

describe('errors from the kernel', () => {
  it('loopback has no ethtool stats: ENOTSUP (Node names EOPNOTSUPP so), as a Node-style error', () => {
    const p = addon.probeSync('lo');
    const err = probeError(p, 'lo');
    expect(err).toBeInstanceOf(EthtoolError);
    expect(err!.code).toBe('ENOTSUP');
    expect(err!.errno).toBe(-95);
    expect(err!.syscall).toBe('ioctl');
    expect(err!.device).toBe('lo');
    expect(err!.message).toMatch(/^ETHTOOL_GSSET_INFO on lo: ENOTSUP/);
  });

  it('a missing device is ENODEV', async () => {
    const p = await addon.probe('nosuchdev0');
    const err = probeError(p, 'nosuchdev0')!;
    expect(err.code).toBe('ENODEV');
    expect(err.errno).toBe(-19);
    expect(err.op).toBe('ETHTOOL_GDRVINFO');
  });

  it('an over-long name is ENODEV, not a buffer overrun', () => {
    expect(addon.probeSync('x'.repeat(100)).errno).toBe(19);
  });
});

describe.skipIf(!hasEth0 || !haveEthtool)(`eth0 (virtio_net) ${!hasEth0 ? '(skipped: no eth0)' : !haveEthtool ? '(skipped: needs ethtool)' : ''}`, () => {
  it('reads the same names, in the same order, and values as `ethtool -S eth0`', async () => {
    const got: Copy[] = [];
    const s = source(['eth0']);
    const done = s.run(collect(got));
    await new Promise((r) => setTimeout(r, 250));
    const reference = ethtoolStats('eth0');
    await new Promise((r) => setTimeout(r, 250));
    s.stop();
    await done;
    expect(got.length).toBeGreaterThanOrEqual(3);
    const first = got[0]!;
    const last = got.at(-1)!;
    expect(first.names).toEqual(reference.map(([n]) => n));
    // ethtool ran between our first and last sample, and these are counters:
    // each of its values lies between ours.
    reference.forEach(([, v], i) => {
      expect(BigInt(first.values[i]!)).toBeLessThanOrEqual(v);
      expect(BigInt(last.values[i]!)).toBeGreaterThanOrEqual(v);
    });
  });

  it.each([1000, 2000])('keeps sampling while the event loop is blocked for %i ms: nothing lost, no tick queued', async (blockMs) => {
    const got: Copy[] = [];
    const s = source(['eth0']);
    let announced = 0;
    const deadlines: { deadlineNs: number; missed: number }[] = [];
    const done = s.run({
      ...collect(got),
      tick: (t) => {
        announced += t.devices;
        deadlines.push({ deadlineNs: t.deadlineNs, missed: t.missed });
      },
    });
    await new Promise((r) => setTimeout(r, 300));
    const blockStart = Date.now();
    blockEventLoop(blockMs);
    const blockEnd = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    s.stop();
    await done;
    const during = got.filter((c) => c.timeMs > blockStart && c.timeMs < blockEnd);
    // The native thread owns the cadence: it went on at ~10 Hz while JS spun.
    expect(during.length).toBeGreaterThanOrEqual(blockMs / 200);
    expect(s.counters.overruns).toBe(0);
    // One sample per tick for one device: none lost between ring and sink,
    // and each tick announced the device it read.
    expect(got.length).toBe(s.counters.ticks);
    expect(announced).toBe(got.length);
    // Skipped deadlines are not replayed as back-to-back catch-up reads: the
    // native tick records step along the 100 ms grid, a skip shows as a
    // bigger step and is counted as missed, never as two ticks for one slot.
    // (From the sampler's own records, not wall-clock gaps, which a busy
    // machine can squeeze.)
    for (let i = 1; i < deadlines.length; i++) {
      const steps = Math.round((deadlines[i]!.deadlineNs - deadlines[i - 1]!.deadlineNs) / 100e6);
      expect(deadlines[i]!.deadlineNs - deadlines[i - 1]!.deadlineNs).toBe(steps * 100e6);
      expect(steps - 1).toBe(deadlines[i]!.missed);
    }
  });

  it('counts overruns when the ring is too small, and what it does deliver is intact', async () => {
    const got: Copy[] = [];
    const s = source(['eth0'], { intervalMs: 10, drainMs: 10, ringWords: 64 });
    const done = s.run(collect(got));
    await new Promise((r) => setTimeout(r, 50));
    blockEventLoop(300);
    await new Promise((r) => setTimeout(r, 50));
    s.stop();
    await done;
    expect(s.counters.overruns).toBeGreaterThan(0);
    for (const c of got) {
      expect(c.error).toBeNull();
      expect(c.values.length).toBe(c.names.length);
    }
  });
});

describe.skipIf(!canUseNetns)(`veth in a namespace ${netnsSkipReason && `(skipped: ${netnsSkipReason})`}`, () => {
  it('leaks no file descriptor across start, device deletion and stop', async () => {
    const base = openFds();
    for (let round = 0; round < 3; round++) {
      const v = createVeth();
      const got: Copy[] = [];
      const s = source([v.name], { intervalMs: 20, drainMs: 20 });
      const done = s.run(collect(got));
      await new Promise((r) => setTimeout(r, 100));
      v.remove();
      await new Promise((r) => setTimeout(r, 100));
      s.stop();
      await done;
      expect(got.some((c) => c.error === 'ENODEV')).toBe(true);
    }
    expect(openFds()).toBe(base);
  });
});
