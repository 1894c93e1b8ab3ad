// ENIs come and go (the VPC CNI hot-plugs them): 100 interface create/delete
// cycles while serve runs and is scraped. Nothing may crash or grow, removed
// devices' series must go, new devices must appear after a re-scan.

import { describe, expect, it } from 'vitest';
import { get } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { parseExposition } from '../helpers/exposition.js';
import { createNetns, createVeth } from '../../src/harness/netns.js';
import { canUseNetns, netnsSkipReason } from '../helpers/host.js';
import { until } from '../../src/harness/wait.js';
import { startServe } from '../helpers/serve.js';

const CYCLES = 100;

/** One scrape on a fresh connection, so idle keep-alive sockets don't blur the descriptor count. */
function scrape(base: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`${base}/metrics`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

describe.skipIf(!canUseNetns)(`hot-plug ${netnsSkipReason && `(skipped: ${netnsSkipReason})`}`, () => {
  it(`${CYCLES} veth create/delete cycles while serving and scraping: series follow, nothing leaks`, async () => {
    const ns = createNetns();
    const s = await startServe(['--device-include', '^ebh', '--rescan', '100ms', '--interval', '50ms']);
    const pid = s.child.pid!;
    let scraping = true;
    let scrapes = 0;
    const scraper = (async () => {
      while (scraping) {
        await scrape(s.base);
        scrapes++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      // Warm up (JIT, first allocations) before taking the baseline.
      for (let i = 0; i < 5; i++) {
        const v = createVeth({ prefix: 'ebh', netns: ns.name });
        await until(async () => (await scrape(s.base)).includes(`device="${v.name}"`), `${v.name} to appear`);
        v.remove();
        await until(async () => !(await scrape(s.base)).includes(`device="${v.name}"`), `${v.name} to go`);
      }
      const fds0 = readdirSync(`/proc/${pid}/fd`).length;
      const rss0 = rssBytes(pid);
      for (let i = 0; i < CYCLES; i++) {
        const v = createVeth({ prefix: 'ebh', netns: ns.name });
        await until(async () => (await scrape(s.base)).includes(`ethtool_up{device="${v.name}"} 1`), `${v.name} to appear`);
        v.remove();
        await until(async () => !(await scrape(s.base)).includes(`device="${v.name}"`), `${v.name}'s series to go`);
      }
      scraping = false;
      await scraper;
      const m = parseExposition(await scrape(s.base));
      // Only process-wide series remain: no ghost device.
      expect(m.samples.filter((x) => x.labels['device'] !== undefined)).toEqual([]);
      // The last scrapes' sockets close asynchronously on the server side; a
      // leaked descriptor would never come back.
      const fds = await until(() => {
        const n = readdirSync(`/proc/${pid}/fd`).length;
        return n <= fds0 ? n : null;
      }, `descriptors to return to ${fds0}`, 10_000).catch(() => readdirSync(`/proc/${pid}/fd`).length);
      expect(fds).toBeLessThanOrEqual(fds0);
      // 100 devices' worth of state came and went; the heap may settle higher, but not by their sum.
      expect(rssBytes(pid) - rss0).toBeLessThan(32 * 1024 * 1024);
      expect(scrapes).toBeGreaterThan(CYCLES);
      const r = await s.stop();
      expect(r.status).toBe(0);
      const added = s.logs().filter((l) => l['msg'] === 'sampling device').length;
      expect(added).toBe(CYCLES + 5);
    } finally {
      scraping = false;
      await s.stop();
      ns.remove();
    }
  }, 240_000);
});
