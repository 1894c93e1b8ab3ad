import { describe, expect, it } from 'vitest';
import { discover, samplingNotice, type DiscoveryHost } from '../../src/sampling/discovery.js';
import type { NativeProbe } from '../../src/sampling/native.js';

interface FakeIf {
  driver: string;
  stats: number;
  device: boolean;
  errno?: number;
}

function host(ifs: Record<string, FakeIf>): DiscoveryHost {
  const probe = (n: string): NativeProbe => {
    const f = ifs[n];
    const base = { driverVersion: '', firmwareVersion: '', busInfo: '', op: '' };
    if (!f) return { ...base, errno: 19, op: 'ETHTOOL_GDRVINFO', driver: '', nStats: 0 };
    if (f.errno) return { ...base, errno: f.errno, op: 'ETHTOOL_GSSET_INFO', driver: f.driver, nStats: 0 };
    return { ...base, errno: 0, driver: f.driver, nStats: f.stats };
  };
  return {
    interfaces: () => Object.keys(ifs),
    hasDevice: (n) => ifs[n]?.device ?? false,
    ifindex: () => 1,
    probe: (n) => Promise.resolve(probe(n)),
  };
}

const none = { devices: [], include: [], exclude: [] };
const names = async (...args: Parameters<typeof discover>) => (await discover(...args)).selected.map((c) => c.info.name);

// An EKS node: two ENIs, pod veths, loopback.
const eks: Record<string, FakeIf> = {
  lo: { driver: '', stats: 0, device: false, errno: 95 },
  ens5: { driver: 'ena', stats: 60, device: true },
  ens6: { driver: 'ena', stats: 60, device: true },
  eni1a2b3c: { driver: 'veth', stats: 10, device: false },
  eni4d5e6f: { driver: 'veth', stats: 10, device: false },
};

// A VM: virtio NIC plus virtual interfaces.
const vm: Record<string, FakeIf> = {
  lo: { driver: '', stats: 0, device: false, errno: 95 },
  eth0: { driver: 'virtio_net', stats: 20, device: true },
  ifb0: { driver: 'ifb', stats: 0, device: false, errno: 95 },
  veth0: { driver: 'veth', stats: 10, device: false },
};

describe('discovery', () => {
  it('picks every ENA interface and nothing else when there is one', async () => {
    expect(await names(none, host(eks))).toEqual(['ens5', 'ens6']);
  });

  it('without ENA, picks device-backed interfaces with stats (eth0 on a VM), never veths or lo', async () => {
    expect(await names(none, host(vm))).toEqual(['eth0']);
  });

  it('--device-include selects any readable interface by name, veths included', async () => {
    expect(await names({ ...none, include: [/^eni/] }, host(eks))).toEqual(['eni1a2b3c', 'eni4d5e6f']);
  });

  it('--device-exclude removes from the default choice', async () => {
    expect(await names({ ...none, exclude: [/^ens6$/] }, host(eks))).toEqual(['ens5']);
  });

  it('--device is exact and reports what it could not use', async () => {
    const r = await discover({ ...none, devices: ['ens6', 'lo', 'gone0'] }, host(eks));
    expect(r.selected.map((c) => c.info.name)).toEqual(['ens6']);
    expect(r.failed.map((e) => [e.device, e.code])).toEqual([
      ['lo', 'ENOTSUP'],
      ['gone0', 'ENODEV'],
    ]);
  });

  it('extra names (a fake-device shim) are probed even though sysfs does not list them', async () => {
    const all = host({ ...vm, fakeena0: { driver: 'ena', stats: 60, device: false } });
    const h: DiscoveryHost = { ...all, interfaces: () => all.interfaces().filter((n) => n !== 'fakeena0') };
    expect(await names(none, h, ['fakeena0'])).toEqual(['fakeena0']);
  });
});

describe('the notice when nothing sampled can show an allowance drop', () => {
  const eth0 = { name: 'eth0', driver: 'virtio_net' };
  it('names the devices and drivers and says what to try', () => {
    expect(samplingNotice([eth0], false)).toBe(
      "no ENA device found: sampling eth0 (virtio_net), which has no allowance counters; try --source simulate to see bursts, or --burst-stat RE to track one of its counters (e.g. --burst-stat 'drops$')",
    );
    expect(samplingNotice([eth0, { name: 'eth1', driver: 'e1000' }], false)).toMatch(/^no ENA device found: sampling eth0 \(virtio_net\), eth1 \(e1000\), which have no allowance counters; .* one of their counters/);
  });

  it('is silent with an ENA device, with --burst-stat, and with nothing sampled', () => {
    expect(samplingNotice([eth0, { name: 'ens5', driver: 'ena' }], false)).toBeNull();
    expect(samplingNotice([eth0], true)).toBeNull();
    expect(samplingNotice([], false)).toBeNull();
  });
});
