// One suite, two implementations: the fake addon (JS ring writer) and the
// real addon on veth pairs. If the fake drifts from the kernel's behaviour,
// this is where it shows.

import { afterEach, describe, expect, it } from 'vitest';
import type { DiscoveryHost } from '../../src/sampling/discovery.js';
import type { NativeAddon } from '../../src/sampling/native.js';
import type { Sample } from '../../src/sampling/sample.js';
import { NativeSource } from '../../src/sampling/native-source.js';
import { loadNative } from '../../src/sampling/native.js';
import { JsRingWriter, fakeAddon, type FakeDevice } from '../helpers/fake-native.js';
import { createVeth, type VethPair } from '../../src/harness/netns.js';
import { haveEthtool, netnsSkipReason, sh } from '../helpers/host.js';

interface Harness {
  addon?: NativeAddon;
  host?: DiscoveryHost;
  /** Creates a device with stats and returns its name. */
  addDevice(queues: number): string;
  removeDevice(name: string): void;
  /** Halves the queue count, which changes the stat names and count. */
  shrinkQueues(name: string, queues: number): void;
  cleanup(): void;
}

function queueNames(queues: number): string[] {
  const names = ['peer_ifindex'];
  for (let q = 0; q < queues; q++) names.push(`rx_queue_${q}_xdp_packets`, `rx_queue_${q}_drops`);
  for (let q = 0; q < queues; q++) names.push(`tx_queue_${q}_xdp_xmit`);
  return names;
}

function fakeHarness(): Harness {
  const devices = new Map<string, FakeDevice>();
  const addon = fakeAddon(devices);
  let n = 0;
  return {
    addon,
    host: {
      interfaces: () => [...devices.keys()],
      hasDevice: () => true,
      ifindex: () => 1,
      probe: (name) => addon.probe(name),
    },
    addDevice(queues) {
      const name = `fake${n++}`;
      let count = 0n;
      const dev: FakeDevice = {
        driver: 'veth',
        names: queueNames(queues),
        read: () => dev.names.map((_, i) => (i === 0 ? 7n : count++)),
      };
      devices.set(name, dev);
      return name;
    },
    removeDevice: (name) => void devices.delete(name),
    shrinkQueues(name, queues) {
      devices.get(name)!.names = queueNames(queues);
    },
    cleanup: () => devices.clear(),
  };
}

function realHarness(): Harness {
  const pairs = new Map<string, VethPair>();
  return {
    addDevice(queues) {
      const v = createVeth({ queues });
      pairs.set(v.name, v);
      return v.name;
    },
    removeDevice: (name) => pairs.get(name)?.remove(),
    shrinkQueues(name, queues) {
      sh('ethtool', ['-L', name, 'rx', String(queues), 'tx', String(queues)]);
    },
    cleanup() {
      for (const p of pairs.values()) p.remove();
    },
  };
}

/** Collects copies of samples (the source reuses its view). */
class Collector {
  samples: { device: string; timeMs: number; error: string | null; generation: number; names: readonly string[] }[] = [];
  removed: string[] = [];
  ticks = 0;
  sample(s: Readonly<Sample>): void {
    this.samples.push({
      device: s.device,
      timeMs: s.timeMs,
      error: s.error,
      generation: s.layout.generation,
      names: s.layout.names,
    });
  }
  deviceRemoved(device: string): void {
    this.removed.push(device);
  }
  tick(): void {
    this.ticks++;
  }
  of(device: string) {
    return this.samples.filter((s) => s.device === device);
  }
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const impls: [string, () => Harness, string][] = [
  ['fake addon', fakeHarness, ''],
  ['real addon on veth', realHarness, netnsSkipReason || (haveEthtool ? '' : 'needs ethtool')],
];

describe.each(impls)('NativeSource contract: %s', (_label, make, skipReason) => {
  let h: Harness;
  let source: NativeSource | null = null;
  afterEach(() => {
    source?.stop();
    h?.cleanup();
  });

  function start(devices: string[], c: Collector): Promise<void> {
    source = new NativeSource({
      intervalMs: 20,
      drainMs: 20,
      rescanMs: 0,
      selection: { devices, include: [], exclude: [] },
      ...(h.addon ? { addon: h.addon } : {}),
      ...(h.host ? { host: h.host } : {}),
    });
    return source.run(c);
  }

  it.skipIf(skipReason !== '')(`delivers named samples every tick ${skipReason && `(skipped: ${skipReason})`}`, async () => {
    h = make();
    const dev = h.addDevice(2);
    const c = new Collector();
    const done = start([dev], c);
    await until(() => c.of(dev).length >= 10, '10 samples');
    source!.stop();
    await done;
    const samples = c.of(dev);
    expect(samples.every((s) => s.error === null)).toBe(true);
    expect(samples[0]!.generation).toBe(1);
    expect(new Set(samples[0]!.names).size).toBe(samples[0]!.names.length);
    expect(samples[0]!.names.some((n) => n.startsWith('rx_queue_1_'))).toBe(true);
    expect(samples[0]!.names[0]).toBe('peer_ifindex');
    for (let i = 1; i < samples.length; i++) expect(samples[i]!.timeMs).toBeGreaterThan(samples[i - 1]!.timeMs);
    expect(c.ticks).toBeGreaterThanOrEqual(samples.length);
    // Nothing is delivered after stop() returned.
    const after = c.samples.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(c.samples.length).toBe(after);
  });

  it.skipIf(skipReason !== '')(`reports a vanished device as ENODEV and keeps sampling the others ${skipReason && `(skipped: ${skipReason})`}`, async () => {
    h = make();
    const keep = h.addDevice(1);
    const gone = h.addDevice(1);
    const c = new Collector();
    const done = start([keep, gone], c);
    await until(() => c.of(gone).length >= 3, 'samples of the doomed device');
    h.removeDevice(gone);
    await until(() => c.removed.includes(gone), 'removal');
    const keepBefore = c.of(keep).length;
    await until(() => c.of(keep).length >= keepBefore + 5, 'the other device to go on');
    source!.stop();
    await done;
    const errors = c.of(gone).filter((s) => s.error !== null);
    expect(errors.length).toBe(1);
    expect(errors[0]!.error).toBe('ENODEV');
    // The error is the last thing we hear from it.
    expect(c.of(gone).at(-1)!.error).toBe('ENODEV');
    expect(c.of(keep).every((s) => s.error === null)).toBe(true);
  });

  it.skipIf(skipReason !== '')(`re-reads names when the stat count changes and never pairs old names with new values ${skipReason && `(skipped: ${skipReason})`}`, async () => {
    h = make();
    const dev = h.addDevice(4);
    const c = new Collector();
    const done = start([dev], c);
    await until(() => c.of(dev).length >= 3, 'first samples');
    const before = c.of(dev)[0]!;
    h.shrinkQueues(dev, 2);
    await until(() => c.of(dev).some((s) => s.generation === 2) && c.of(dev).at(-1)!.generation === 2 && c.of(dev).filter((s) => s.generation === 2).length >= 3, 'new generation');
    source!.stop();
    await done;
    const after = c.of(dev).filter((s) => s.generation === 2);
    expect(after[0]!.names.length).toBeLessThan(before.names.length);
    expect(after[0]!.names.some((n) => n.startsWith('rx_queue_3_'))).toBe(false);
    expect(before.names.some((n) => n.startsWith('rx_queue_3_'))).toBe(true);
    // Every sample arrived after its generation's names and carried as many
    // values as they have: nothing was dropped as unnameable.
    expect(source!.droppedSamples).toBe(0);
    // Generations only move forward.
    const gens = c.of(dev).map((s) => s.generation);
    expect([...gens].sort((a, b) => a - b)).toEqual(gens);
  });
});

describe('NativeSource against a broken ring contract', () => {
  // What droppedSamples counts: samples the reader cannot name. The fake
  // writer breaks the contract on purpose; the real sampler never should.
  it('drops a sample whose generation was never announced, or whose value count differs from its names', async () => {
    const L = loadNative().ringLayout;
    const writers: JsRingWriter[] = [];
    const addon: NativeAddon = {
      ...fakeAddon(new Map()),
      Sampler: class {
        constructor(ring: Uint32Array) {
          writers.push(new JsRingWriter(ring, L));
        }
        start = () => 0;
        stop() {}
        add() {}
        remove() {}
        revalidate() {}
        setDeviceInterval() {}
        running = true;
      },
    };
    const host: DiscoveryHost = { interfaces: () => ['x0'], hasDevice: () => true, ifindex: () => 1, probe: () => Promise.resolve({ errno: 0, op: '', driver: 'veth', driverVersion: '', firmwareVersion: '', busInfo: '', nStats: 2 }) };
    const source = new NativeSource({ intervalMs: 100, rescanMs: 0, drainMs: 1_000_000, selection: { devices: ['x0'], include: [], exclude: [] }, addon, host });
    const got: { generation: number; names: readonly string[] }[] = [];
    const done = source.run({ sample: (s) => void got.push({ generation: s.layout.generation, names: s.layout.names }) });
    await until(() => writers.length === 1, 'the sampler');
    const w = writers[0]!;
    w.sample(1, 1, 1, 1e15, 1, 0, [1n, 2n]); // generation 1 not announced yet
    w.layout(1, 1, ['a', 'b']);
    w.sample(1, 1, 2, 1e15 + 1, 1, 0, [1n, 2n, 3n]); // three values for two names
    w.sample(1, 1, 3, 1e15 + 2, 1, 0, [1n, 2n]); // as it should be
    source.drain();
    source.stop();
    await done;
    expect(got).toEqual([{ generation: 1, names: ['a', 'b'] }]);
    expect(source.droppedSamples).toBe(2);
  });
});
