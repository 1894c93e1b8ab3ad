// A trace recorded by `ethburst record` through the real native path (eth0,
// plus a fake ENA device from the LD_PRELOAD shim so that counters move and
// reset; this machine may not send traffic off-host), replayed through the
// aggregator, gives the same increases as a by-hand BigInt computation over
// the file.

import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aggregator } from '../../src/aggregation/aggregator.js';
import { ReplaySource } from '../../src/sources/replay.js';
import { writeFileSync } from 'node:fs';
import { runCli } from '../helpers/cli.js';
import { haveCc, shimEnv } from '../helpers/shim.js';

const hasEth0 = existsSync('/sys/class/net/eth0');
const skip = !hasEth0 ? 'no eth0' : !haveCc ? 'needs a C compiler for the fake-ENA shim' : '';

describe.skipIf(skip !== '')(`replay of a recorded trace ${skip && `(skipped: ${skip})`}`, () => {
  it('every stat’s total increase equals the sum of differences in the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ethburst-rec-'));
    const file = join(dir, 'eth0.jsonl');
    const script = join(dir, 'ena0.script');
    writeFileSync(script, '300 burst pps_allowance_exceeded 5000 400\n900 reset\n1200 add linklocal_allowance_exceeded 17\n1500 burst bw_in_allowance_exceeded 123456 300\n');
    const r = runCli(['record', '--device', 'eth0', '--device', 'ena0', '--interval', '20ms', '--duration', '2s', '--out', file], { env: shimEnv(`ena0=${script}`) });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

    // By hand: per device and stat, sum of v_k - v_(k-1), a decrease counting as v_k (a reset).
    const byHand = new Map<string, bigint>();
    const prev = new Map<string, Record<string, bigint>>();
    let lines = 0;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue;
      lines++;
      const rec = JSON.parse(line) as { device: string; stats?: Record<string, number | string> };
      if (!rec.stats) continue;
      const cur = Object.fromEntries(Object.entries(rec.stats).map(([k, v]) => [k, BigInt(v)]));
      const p = prev.get(rec.device);
      if (p) for (const [k, v] of Object.entries(cur)) byHand.set(`${rec.device}/${k}`, (byHand.get(`${rec.device}/${k}`) ?? 0n) + (v >= p[k]! ? v - p[k]! : v));
      prev.set(rec.device, cur);
    }
    expect(lines).toBeGreaterThan(100);

    const agg = new Aggregator({ trackedStat: () => true, windowsMs: [] });
    await new ReplaySource(file, { speed: 'fast' }).run(agg);
    agg.finish();
    const totals = new Map(agg.totals().map((t) => [`${t.device}/${t.stat}`, BigInt(t.increase)]));
    expect(totals).toEqual(byHand);
    expect(byHand.get('ena0/pps_allowance_exceeded')).toBe(5000n);
    expect(byHand.get('ena0/bw_in_allowance_exceeded')).toBe(123456n);
    expect(agg.totals().find((t) => t.device === 'ena0' && t.stat === 'pps_allowance_exceeded')!.resets).toBe(1);
  });
});
