// Every interface's counters in one netlink dump (native/links.h), checked
// against the kernel's own sysfs numbers and against datagrams the test
// sends over a veth whose peer is in a namespace the test created. The
// datagrams go to a made-up neighbour: the peer drops them, nothing answers,
// nothing leaves the pair.

import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { loadNative } from '../../src/sampling/native.js';
import { createVeth, type VethPair } from '../../src/harness/netns.js';
import { canUseNetns, netnsSkipReason } from '../helpers/host.js';

let pair: VethPair | null = null;
afterEach(() => {
  pair?.remove();
  pair = null;
});

const sysfs = (dev: string, file: string): number => Number(readFileSync(`/sys/class/net/${dev}/${file}`, 'utf8'));

/** The dump as a map by ifindex. */
async function dump(): Promise<Map<number, number[]>> {
  let out = new Float64Array(5 * 64);
  let n = await loadNative().linkCounters(out);
  // More interfaces than fit: again, with room for all of them.
  if (n > out.length / 5) {
    out = new Float64Array(5 * (n + 16));
    n = await loadNative().linkCounters(out);
  }
  expect(n).toBeGreaterThan(0);
  const m = new Map<number, number[]>();
  for (let i = 0; i < n; i++) m.set(out[5 * i]!, Array.from(out.subarray(5 * i + 1, 5 * i + 5)));
  return m;
}

describe.skipIf(!canUseNetns)(`link counters from one netlink dump ${netnsSkipReason && `(skipped: ${netnsSkipReason})`}`, () => {
  it('lists every interface of the namespace with the packets and bytes sysfs shows', async () => {
    // Other tests add and remove veths meanwhile: those here before and after must be in it.
    const first = readdirSync('/sys/class/net');
    const m = await dump();
    const still = new Set(readdirSync('/sys/class/net'));
    const stable = first.filter((d) => still.has(d));
    expect(stable.length).toBeGreaterThan(1);
    for (const d of stable) {
      let ifindex: number;
      try {
        ifindex = sysfs(d, 'ifindex');
      } catch {
        continue; // gone since
      }
      expect(m.has(ifindex)).toBe(true);
    }
    // lo is quiet unless something on this host talks to itself: read it between two sysfs reads.
    const before = ['rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes'].map((f) => sysfs('lo', `statistics/${f}`));
    const lo = (await dump()).get(sysfs('lo', 'ifindex'))!;
    const after = ['rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes'].map((f) => sysfs('lo', `statistics/${f}`));
    for (let k = 0; k < 4; k++) {
      expect(lo[k]).toBeGreaterThanOrEqual(before[k]!);
      expect(lo[k]).toBeLessThanOrEqual(after[k]!);
    }
  });

  it('counts exactly the datagrams sent over a veth, packets and bytes', async () => {
    pair = createVeth({ prefix: 'eblc' });
    // No IPv6 on either end: no router or multicast chatter moves the counters.
    execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${pair.name}.disable_ipv6=1`]);
    execFileSync('ip', ['netns', 'exec', pair.netns, 'sysctl', '-q', '-w', `net.ipv6.conf.${pair.peer}.disable_ipv6=1`]);
    const n = process.pid % 250;
    execFileSync('ip', ['addr', 'add', `10.215.${n}.1/30`, 'dev', pair.name]);
    execFileSync('ip', ['neigh', 'replace', `10.215.${n}.2`, 'lladdr', '02:eb:00:00:00:02', 'dev', pair.name, 'nud', 'permanent']);
    const ifindex = sysfs(pair.name, 'ifindex');
    const before = (await dump()).get(ifindex)!;

    const sock = createSocket('udp4');
    sock.bind(0);
    await once(sock, 'listening');
    const payload = Buffer.alloc(100, 1);
    for (let i = 0; i < 250; i++) await new Promise<void>((resolve, reject) => sock.send(payload, 9, `10.215.${n}.2`, (err) => (err ? reject(err) : resolve())));
    sock.close();

    const after = (await dump()).get(ifindex)!;
    expect(after[1]! - before[1]!).toBe(250);
    // 100 bytes of payload + 8 UDP + 20 IP + 14 Ethernet.
    expect(after[3]! - before[3]!).toBe(250 * 142);
    expect(after[0]! - before[0]!).toBe(0);
    expect(after).toEqual(['rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes'].map((f) => sysfs(pair!.name, `statistics/${f}`)));
  });

  it('wants a Float64Array', () => {
    expect(() => loadNative().linkCounters(new Uint32Array(5) as unknown as Float64Array)).toThrow(/Float64Array/);
  });
});
