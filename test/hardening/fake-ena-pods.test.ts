// Which pods: three "pods" wired like the VPC CNI (each in a namespace the
// test creates, a host-side veth without an address, a host route to the
// pod's address from the documentation range, the pod's default route via
// 169.254.1.1) send known numbers of datagrams while a fake-ENA burst is in
// progress; the burst names them, most first, with exactly those numbers.
// The "ENI" is a veth overlaid by the fake-ENA shim (a stand-in for ENA),
// its allowance a token bucket over the traffic the test sends through it.
// Nothing leaves the host: the pods' frames go to a gateway MAC nobody has,
// so the host side counts and drops them; the ENI's go to a made-up
// neighbour behind its peer.

import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createVeth, type VethPair } from '../../src/harness/netns.js';
import { until } from '../../src/harness/wait.js';
import { canUseNetns, netnsSkipReason } from '../helpers/host.js';
import { startServe, type Served } from '../helpers/serve.js';
import { haveCc, shimEnv, shimScript } from '../helpers/shim.js';
import { opensslMissing } from '../helpers/certificates.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-apiserver.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { runCli } from '../helpers/cli.js';
import { artifactPath } from '../helpers/artifacts.js';
import { browserMissing, openBrowser } from '../page/browser.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Burst {
  id: number;
  device: string;
  stat: string;
  top_pods: { veth: string; ips: string[]; pod: string | null; packets: number; bytes: number; share: number | null }[] | null;
}

let served: Served | null = null;
let api: KubeApiServer | null = null;
let dir = '';
const pairs: VethPair[] = [];
afterEach(async () => {
  await served?.stop();
  served = null;
  await api?.close();
  api = null;
  for (const p of pairs.splice(0)) p.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const NODE = 'ip-10-0-1-23.ec2.internal';

/** A pod: its namespace, host-side veth and address. */
function pod(i: number): { pair: VethPair; ip: string } {
  const pair = createVeth({ prefix: `ebpd${i}` });
  pairs.push(pair);
  const ip = `192.0.2.${20 + i}`;
  for (const [ns, dev] of [
    [null, pair.name],
    [pair.netns, pair.peer],
  ] as const) {
    const args = ['sysctl', '-q', '-w', `net.ipv6.conf.${dev}.disable_ipv6=1`];
    execFileSync(ns ? 'ip' : args[0]!, ns ? ['netns', 'exec', ns, ...args] : args.slice(1));
  }
  execFileSync('ip', ['-n', pair.netns, 'addr', 'add', `${ip}/32`, 'dev', pair.peer]);
  execFileSync('ip', ['-n', pair.netns, 'route', 'add', '169.254.1.1', 'dev', pair.peer, 'scope', 'link']);
  execFileSync('ip', ['-n', pair.netns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', pair.peer]);
  execFileSync('ip', ['-n', pair.netns, 'neigh', 'replace', '169.254.1.1', 'lladdr', '02:eb:00:00:00:fe', 'dev', pair.peer, 'nud', 'permanent']);
  execFileSync('ip', ['route', 'add', `${ip}/32`, 'dev', pair.name, 'scope', 'link']);
  return { pair, ip };
}

/** Sends `count` datagrams of 100 bytes from inside the pod's namespace; resolves when all are out. */
async function podSends(ns: string, count: number): Promise<void> {
  const script = `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(100);let n=0;const go=()=>{if(n===${count}){s.close();return;}n++;s.send(b,9,'198.51.100.1',go);};go();`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(0);
}

const skip = !haveCc ? '(skipped: needs a C compiler for the shim)' : netnsSkipReason ? `(skipped: ${netnsSkipReason})` : opensslMissing ? `(skipped: ${opensslMissing})` : '';

describe.skipIf(!haveCc || !canUseNetns || opensslMissing !== null)(`top pods of a burst, from pods wired like the VPC CNI ${skip}`, () => {
  it('names the pods that sent during the burst, most packets first, with exactly what they sent', async () => {
    // The ENI: a veth overlaid by the fake ENA, 1,000 packets/s allowed (a 100 ms bucket).
    const eni = createVeth({ prefix: 'ebpe' });
    pairs.push(eni);
    const n = process.pid % 250;
    execFileSync('ip', ['addr', 'add', `10.216.${n}.1/30`, 'dev', eni.name]);
    execFileSync('ip', ['neigh', 'replace', `10.216.${n}.2`, 'lladdr', '02:eb:00:00:00:03', 'dev', eni.name, 'nud', 'permanent']);
    const pods = [pod(0), pod(1), pod(2)];
    // The Kubernetes API (a stand-in: test/helpers/kube-apiserver.ts) knows two of the three pods.
    dir = mkdtempSync(join(tmpdir(), 'ethburst-kube-'));
    api = await startKubeApiServer(dir, NODE);
    api.addPod({ namespace: 'shop', name: 'web-0', ips: [pods[0]!.ip] });
    api.addPod({ namespace: 'batch', name: 'export-1', ips: [pods[1]!.ip] });
    const env = shimEnv(`${eni.name}=${shimScript('pods-eni.script', '0 limit pps_allowance_exceeded 1000 100\n')}`);
    // A 3 s gap: a sender stalled by a busy machine does not split the burst.
    const kube = ['--node-name', NODE, '--kubernetes', api.url, '--kube-credentials', api.credentialsDir, '--node-events', '--node-events-min-drops', '1'];
    served = await startServe(['--device', eni.name, '--capture-before', '2s', '--capture-after', '1s', '--burst-gap', '3s', ...kube], env);
    await until(async () => ((await served!.json<{ kubernetes?: { pods: { lists: number } } }>('/api/devices')).kubernetes?.pods.lists ?? 0) >= 1, 'the pod list', 15_000);
    // The poller's first dump follows the ENI's first sample: the baseline every burst needs.
    await until(async () => ((await served!.json<{ links?: { polls: number } }>('/api/devices')).links?.polls ?? 0) >= 1, 'the first veth dump', 15_000);

    // 1,500 packets/s through the ENI until told to stop: a burst from ~0.2 s on.
    const sock = createSocket('udp4');
    sock.bind(0);
    await once(sock, 'listening');
    let sending = true;
    const payload = Buffer.alloc(100);
    const eniTraffic = (async () => {
      const t0 = performance.now();
      let sent = 0;
      while (sending) {
        const due = Math.floor(((performance.now() - t0) * 1500) / 1000);
        for (; sent < due; sent++) sock.send(payload, 9, `10.216.${n}.2`);
        await new Promise((r) => setTimeout(r, 4));
      }
    })();
    try {
      // Once the burst is open (so the poller's snapshot before it is in), the pods send.
      await until(async () => (await served!.json<{ open?: unknown[] }>(`/api/bursts?open=1&device=${eni.name}`)).open?.length === 1, 'the burst to open', 15_000);
      await Promise.all([podSends(pods[0]!.pair.netns, 300), podSends(pods[1]!.pair.netns, 3000), podSends(pods[2]!.pair.netns, 30)]);
      // ... and the burst goes on a little after them.
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      sending = false;
      await eniTraffic;
      sock.close();
    }

    const burst = await until(async () => {
      const b = (await served!.json<{ bursts: Burst[] }>(`/api/bursts?device=${eni.name}`)).bursts;
      return b.length > 0 ? b[0]! : null;
    }, 'the burst to end', 30_000);
    expect(burst.stat).toBe('pps_allowance_exceeded');
    // Exactly what each pod sent, most first: 100-byte datagrams are 142-byte frames.
    expect(burst.top_pods!.map((p) => [p.veth, p.ips, p.pod, p.packets, p.bytes])).toEqual([
      [pods[1]!.pair.name, [pods[1]!.ip], 'batch/export-1', 3000, 3000 * 142],
      [pods[0]!.pair.name, [pods[0]!.ip], 'shop/web-0', 300, 300 * 142],
      [pods[2]!.pair.name, [pods[2]!.ip], null, 30, 30 * 142],
    ]);
    // Shares are of the ENI's packets over the same two moments: in the pods' proportions.
    const [a, b, c] = burst.top_pods!.map((p) => p.share!);
    expect(a! / b!).toBeCloseTo(10, 0);
    expect(c).toBeGreaterThan(0);
    // The log line says it too.
    const line = served.logs().find((l) => l['msg'] === 'burst' && l['device'] === eni.name);
    expect(line?.['top_pods']).toMatch(new RegExp(`^batch/export-1 ${pods[1]!.ip.replace(/\./g, '\\.')} \\d+%, shop/web-0 .*, ${pods[2]!.pair.name} `));
    // `analyze` of the burst's capture names the same pods with the same numbers (the capture carries the two veth snapshots).
    await until(async () => (await served!.json<{ bursts: { id: number; capture: string }[] }>('/api/bursts')).bursts.find((b) => b.id === burst.id)?.capture === 'ready', 'the capture', 15_000);
    const capture = await (await fetch(`${served.base}/api/bursts/${burst.id}/trace`)).text();
    const file = join(dir, 'capture.jsonl');
    writeFileSync(file, capture);
    const analyzed = runCli(['analyze', file, '--format', 'json', '--burst-gap', '3s']);
    expect(analyzed.status).toBe(0);
    const offline = (JSON.parse(analyzed.stdout) as { bursts: Burst[] }).bursts.filter((b) => b.stat === burst.stat);
    expect(offline.map((b) => b.top_pods)).toEqual([burst.top_pods]);
    // ... and its table for people has the top pod.
    const table = runCli(['analyze', file, '--burst-gap', '3s']).stdout.split('\n');
    expect(table[1]).toMatch(/\s+CAUSE\s+TOP POD$/);
    expect(table.find((l) => l.includes(burst.stat))).toMatch(/ batch\/export-1 192\.0\.2\.21 \d+%$/);
    // The live page names them too (where Chromium is installed: CI has it).
    if (browserMissing === null) {
      const browser = await openBrowser();
      try {
        await browser.page.goto(`${served.base}/`);
        const cell = browser.page.locator(`#bursts tbody tr[data-device="${eni.name}"]:not(.open) td.pods`);
        await cell.first().waitFor({ timeout: 15_000 });
        expect(await cell.first().textContent()).toMatch(/^batch\/export-1 192\.0\.2\.21 \d+%$/);
        await cell.first().click();
        await browser.page.locator('#capture-pods tbody tr').first().waitFor({ timeout: 10_000 });
        expect(await browser.page.locator('#capture-pods tbody tr td:first-child').allTextContents()).toEqual(['batch/export-1', 'shop/web-0', '']);
        await browser.page.locator('#capture').screenshot({ path: artifactPath('pods-capture.png') });
        expect(browser.errors).toEqual([]);
      } finally {
        await browser.close();
      }
    }
    // And the Node's Warning Event, named by the pods.
    await until(() => api!.events.size === 1, 'the Node event', 15_000);
    const event = [...api.events.values()][0]!;
    // What the API received, kept for the README and the closing note.
    writeFileSync(artifactPath('node-event.json'), `${JSON.stringify(api.requests.find((r) => r.method === 'POST')!.body, null, 2)}\n`);
    expect(event).toMatchObject({ reason: 'PPSExceeded', type: 'Warning', regarding: { kind: 'Node', name: NODE } });
    expect(event['note']).toMatch(/Top pods: batch\/export-1 192\.0\.2\.21 \d+%, shop\/web-0 192\.0\.2\.20 \d+%, ebpd2\S+ 192\.0\.2\.22 \d+%\.$/);
  }, 90_000);
});
