// Event-loop lag as a dashboard reads it: how late the process's periodic
// timers ran (an idle loop no longer reads 0.100 s), and a loop that was
// blocked shows it. Only bounds a blocked loop guarantees are asserted; the
// idle reading is measured in `ethburst bench`, not here.

import { describe, expect, it } from 'vitest';
import { Exposition } from '../../src/export/metrics/registry.js';
import { EVENT_LOOP_LAG_FAMILIES, EventLoopLag, eventLoopLagName } from '../../src/export/metrics/event-loop.js';
import { parseExposition, value } from '../helpers/exposition.js';
import { lagHost } from '../../src/lag-hosts.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('event-loop lag', () => {
  it('reports how late the loop ran: an 800 ms block reads at least 0.6 s on a 100 ms host timer, once, under the same names', async () => {
    const ex = new Exposition({ defaultMetrics: true });
    // Stands in for the native source's drain timer, which serve measures lag on.
    const host = lagHost();
    let due = performance.now() + 100;
    const timer = setInterval(() => {
      const now = performance.now();
      host.late(now - due);
      due = now + 100;
    }, 100);
    try {
      await sleep(350);
      // The first scrape empties the readings.
      await ex.renderText(undefined);
      // Longer than the timer's period, so the timer is due during it whenever it starts.
      const until = performance.now() + 800;
      while (performance.now() < until);
      await sleep(300);
      const [, body] = await ex.renderText(undefined);
      const p = parseExposition(body);
      // One family each, from this module, not prom-client's.
      for (const stat of EVENT_LOOP_LAG_FAMILIES) {
        expect(p.samples.filter((s) => s.name === eventLoopLagName(stat))).toHaveLength(1);
        expect(p.helps.get(eventLoopLagName(stat))).toMatch(/\(event-loop delay\)$/);
      }
      // The tick due during the block ran when it ended: at least 800 - 100 ms late.
      expect(value(p, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.6);
      expect(value(p, 'nodejs_eventloop_lag_min_seconds')).toBeLessThanOrEqual(value(p, 'nodejs_eventloop_lag_p50_seconds'));
    } finally {
      clearInterval(timer);
      host.close();
    }
  });

  it('keeps the statistics of the readings since the last scrape', () => {
    const lag = new EventLoopLag();
    for (const ms of [1, 2, 100, 4, 3]) lag.record(ms);
    // last: the latest reading (nodejs_eventloop_lag_seconds), the others over all five.
    expect(lag.take()).toEqual({ last: 0.003, min: 0.001, max: 0.1, mean: 0.022, stddev: expect.closeTo(0.039, 3) as number, p50: 0.003, p90: 0.1, p99: 0.1 });
    expect(lag.take()).toBeNull();
  });
});
