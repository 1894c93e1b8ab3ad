// When serve's samples reach JavaScript: the ring is drained every second
// while nothing needs them sooner (each drain wakes the event loop), every
// drainMs while something does (an open burst), and at once when a request
// asks (catchUp). On eth0 with the real sampler; counts, not timings.

import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { NativeSource } from '../../src/sampling/native-source.js';
import { until } from '../../src/harness/wait.js';

const hasEth0 = existsSync('/sys/class/net/eth0');

let src: NativeSource | null = null;
let done: Promise<void> | null = null;
afterEach(async () => {
  src?.stop();
  await done;
  src = null;
  done = null;
});

function start(busy: () => boolean): { samples: () => number } {
  let n = 0;
  src = new NativeSource({ intervalMs: 20, drainMs: 50, idleDrainMs: 600_000, busy, rescanMs: 0, selection: { devices: ['eth0'], include: [], exclude: [] } });
  done = src.run({
    sample() {
      n++;
    },
  });
  return { samples: () => n };
}

describe.skipIf(!hasEth0)('draining the ring', () => {
  it('keeps samples in the ring while nothing needs them, and hands them all over on catchUp()', async () => {
    const s = start(() => false);
    await until(() => src!.pendingWords() > 0, 'the sampler to publish');
    // The idle drain is 10 minutes away: nothing has reached JavaScript.
    expect(s.samples()).toBe(0);
    await until(() => src!.counters.ticks === 0 && src!.pendingWords() > 200, 'several ticks in the ring');
    src!.catchUp();
    expect(s.samples()).toBeGreaterThan(1);
    expect(src!.counters.ticks).toBeGreaterThan(1);
    expect(src!.pendingWords()).toBe(0);
  });

  it('drains on its own every drainMs while busy() says so', async () => {
    const s = start(() => true);
    await until(() => s.samples() > 2, 'samples without a catch-up');
  });
});
