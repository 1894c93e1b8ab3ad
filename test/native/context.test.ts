// Context from the real kernel, in the same tick as the samples: an
// interface's packet and byte counters (sysfs) and the node's IP, UDP and
// TCP counters (/proc/net/snmp), moved by traffic the test sends over a
// veth whose peer sits in a namespace the test created. Nothing leaves the
// pair: the /30 lives on the veth only.

import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { NODE_COUNTER_NAMES, TRAFFIC_NAMES, type NodeContext } from '../../src/sampling/context.js';
import { NativeSource } from '../../src/sampling/native-source.js';
import type { Sample } from '../../src/sampling/sample.js';
import { createVeth, type VethPair } from '../../src/harness/netns.js';
import { until } from '../../src/harness/wait.js';
import { canUseNetns, netnsSkipReason } from '../helpers/host.js';

interface Row {
  timeMs: number;
  traffic: number[];
}

let pair: VethPair | null = null;
afterEach(() => {
  pair?.remove();
  pair = null;
});

/** A /30 unlikely to meet anything on the host, per process. */
function subnet(): [string, string] {
  const n = process.pid % 250;
  return [`10.213.${n}.1`, `10.213.${n}.2`];
}

describe.skipIf(!canUseNetns)(`context from the kernel ${netnsSkipReason && `(skipped: ${netnsSkipReason})`}`, () => {
  it('moves with traffic sent over a veth: its packets and bytes, and the IP fragments the node created', async () => {
    pair = createVeth({ prefix: 'ebc' });
    const [ours, peer] = subnet();
    execFileSync('ip', ['addr', 'add', `${ours}/30`, 'dev', pair.name]);
    execFileSync('ip', ['-n', pair.netns, 'addr', 'add', `${peer}/30`, 'dev', pair.peer]);

    const rows: Row[] = [];
    const contexts: { timeMs: number; values: number[] }[] = [];
    /** Index of the context record each sample followed. */
    const contextBefore: number[] = [];
    const src = new NativeSource({ intervalMs: 100, drainMs: 50, rescanMs: 0, selection: { devices: [pair.name], include: [], exclude: [] } });
    const done = src.run({
      sample(s: Readonly<Sample>) {
        if (s.error !== null) return;
        rows.push({ timeMs: s.timeMs, traffic: [...s.traffic] });
        contextBefore.push(contexts.length - 1);
      },
      context(c: Readonly<NodeContext>) {
        expect(c.names).toEqual(NODE_COUNTER_NAMES);
        contexts.push({ timeMs: c.timeMs, values: [...c.values] });
      },
    });
    try {
      await until(() => rows.length >= 3, 'three samples of the veth');
      const before = rows.at(-1)!;

      // 40 datagrams of 4,000 bytes over a 1,500-byte MTU: 3 fragments each.
      const sock = createSocket('udp4');
      sock.bind(0, ours);
      await once(sock, 'listening');
      const payload = Buffer.alloc(4000, 7);
      for (let i = 0; i < 40; i++) await new Promise<void>((resolve, reject) => sock.send(payload, 9, peer, (err) => (err ? reject(err) : resolve())));
      sock.close();

      const tx = TRAFFIC_NAMES.indexOf('tx_packets');
      await until(() => rows.at(-1)!.traffic[tx]! - before.traffic[tx]! >= 120, 'the fragments in tx_packets');
      // The fragments were counted before that sample's traffic, but maybe after its tick's node read.
      const seen = contexts.length;
      await until(() => contexts.length > seen, 'a node record after that sample');
    } finally {
      src.stop();
      await done;
    }

    const after = rows.at(-1)!;
    const before = rows[2]!;
    const at = (name: string): number => TRAFFIC_NAMES.indexOf(name as (typeof TRAFFIC_NAMES)[number]);
    expect(after.traffic[at('tx_packets')]! - before.traffic[at('tx_packets')]!).toBeGreaterThanOrEqual(120);
    expect(after.traffic[at('tx_bytes')]! - before.traffic[at('tx_bytes')]!).toBeGreaterThanOrEqual(40 * 4000);
    // Every traffic value of every good sample was read.
    for (const r of rows) for (const v of r.traffic) expect(Number.isInteger(v)).toBe(true);

    const frag = NODE_COUNTER_NAMES.indexOf('ip_frag_creates');
    const last = contexts.at(-1)!.values[frag]!;
    const first = contexts[contextBefore[2]!]!.values[frag]!;
    expect(last - first).toBeGreaterThanOrEqual(120);
    // The snmp counters are always there; the rest is known or NaN, never a bogus number.
    for (const name of ['ip_frag_creates', 'udp_out_datagrams', 'tcp_retrans_segs']) {
      for (const c of contexts) expect(Number.isInteger(c.values[NODE_COUNTER_NAMES.indexOf(name)])).toBe(true);
    }
    // One node record per tick, ahead of that tick's sample, on the same clock.
    for (let i = 0; i < rows.length; i++) {
      const c = contexts[contextBefore[i]!];
      expect(c).toBeDefined();
      expect(c!.timeMs).toBeLessThanOrEqual(rows[i]!.timeMs);
      if (i > 0) expect(contextBefore[i]).toBe(contextBefore[i - 1]! + 1);
    }
  });

  // In a namespace holding only lo and the veth's peer, the sampled device is
  // half the interfaces: its traffic comes from one /proc/net/dev read a tick.
  // The sampler joins the namespace's network (nsenter --net) but keeps the
  // host's /sys, where the peer has no statistics files: a known traffic
  // value can only have come from the table.
  it('reads traffic from /proc/net/dev where the sampled devices are most of the interfaces, with the numbers ip -s link gives', async () => {
    pair = createVeth({ prefix: 'ebd' });
    const [ours, peer] = subnet();
    const ns = pair.netns;
    // No IPv6: nothing (router solicitations, DAD) moves the counters unasked.
    execFileSync('sysctl', ['-qw', `net.ipv6.conf.${pair.name}.disable_ipv6=1`]);
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${pair.peer}.disable_ipv6=1`]);
    execFileSync('ip', ['addr', 'add', `${ours}/30`, 'dev', pair.name]);
    execFileSync('ip', ['-n', ns, 'addr', 'add', `${peer}/30`, 'dev', pair.peer]);
    const sock = createSocket('udp4');
    sock.bind(0, ours);
    await once(sock, 'listening');
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve, reject) => sock.send(Buffer.alloc(100, 1), 9, peer, (err) => (err ? reject(err) : resolve())));
    sock.close();
    const kernel = (): { rx: { packets: number; bytes: number }; tx: { packets: number; bytes: number } } =>
      (JSON.parse(execFileSync('ip', ['-n', ns, '-j', '-s', 'link', 'show', 'dev', pair!.peer], { encoding: 'utf8' })) as { stats64: { rx: { packets: number; bytes: number }; tx: { packets: number; bytes: number } } }[])[0]!.stats64;
    await until(() => kernel().rx.packets >= 20, 'the datagrams at the peer');

    const dir = mkdtempSync(join(tmpdir(), 'ethburst-netdev-'));
    try {
      const script = join(dir, 'sample.mjs');
      const module = resolve('build/dist/src/sampling/native-source.js');
      writeFileSync(
        script,
        `import { NativeSource } from ${JSON.stringify(module)};
const name = process.argv[2];
const src = new NativeSource({ intervalMs: 100, drainMs: 50, rescanMs: 0, selection: { devices: [name], include: [], exclude: [] }, extraDevices: [name] });
let last = null;
let n = 0;
await src.run({ sample(s) { if (s.error === null) { last = [...s.traffic]; if (++n === 5) src.stop(); } } });
process.stdout.write(JSON.stringify(last));
`,
      );
      const out = execFileSync('nsenter', [`--net=/run/netns/${ns}`, process.execPath, script, pair.peer], { encoding: 'utf8', timeout: 60_000 });
      const traffic = JSON.parse(out) as number[];
      const k = kernel();
      const at = (name: string): number => traffic[TRAFFIC_NAMES.indexOf(name as (typeof TRAFFIC_NAMES)[number])]!;
      expect({ rx_packets: at('rx_packets'), tx_packets: at('tx_packets'), rx_bytes: at('rx_bytes'), tx_bytes: at('tx_bytes') }).toEqual({
        rx_packets: k.rx.packets,
        tx_packets: k.tx.packets,
        rx_bytes: k.rx.bytes,
        tx_bytes: k.tx.bytes,
      });
      expect(at('rx_packets')).toBeGreaterThanOrEqual(20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
