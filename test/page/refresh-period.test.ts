// The live page says how often each device really refreshes its counters,
// and, for a device slower than its sampling, what its bursts cannot show.
// Three fake ENA devices (the LD_PRELOAD shim, the stand-in for real ENA)
// publish their customer metrics every read, every 250 ms and every second.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../src/harness/wait.js';
import { startServe, type Served } from '../helpers/serve.js';
import { haveCc, shimEnv, shimScript } from '../helpers/shim.js';
import { browserMissing, openBrowser, type Browser } from './browser.js';

// The callbacks below run in the page; tsconfig has no DOM lib.
declare const document: { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> };

interface DeviceState {
  name: string;
  counterUpdate: { settled: boolean };
}

const skip = browserMissing ?? (haveCc ? null : 'needs a C compiler for the shim');

describe.skipIf(skip !== null)(`the live page shows each device's counter refresh period${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let served: Served;
  let browser: Browser;
  beforeAll(async () => {
    const env = shimEnv(`ena0=${shimScript('page-r1000', 'refresh 1000\n')},ena1=${shimScript('page-r250', 'refresh 250\n')},ena2=${shimScript('page-r0', '')}`);
    served = await startServe([], env);
    // The moving connection gauge gives each period away within seconds.
    await until(async () => (await served.json<{ devices: DeviceState[] }>('/api/devices')).devices.every((d) => d.counterUpdate.settled) || null, 'every estimate to settle', 40_000);
    browser = await openBrowser();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('lists about 1 s, 250 ms and 100 ms, and names the slow devices above the charts', async () => {
    const { page, errors } = browser;
    await page.goto(`${served.base}/`);
    await page.waitForFunction(() => document.querySelectorAll('#health tbody tr[data-device]').length === 3, null, { timeout: 15_000 });
    const column = await page.evaluate(() => Array.from(document.querySelectorAll('#health thead th')).findIndex((th) => th.textContent === 'Counters refresh'));
    expect(column).toBeGreaterThan(0);
    const cell = (device: string) => page.locator(`#health tbody tr[data-device="${device}"] td`).nth(column).textContent();
    expect(await cell('ena0')).toMatch(/^~(1(\.1)? s|9\d\d ms)$/);
    // Give or take a tick a busy machine skips.
    expect(await cell('ena1')).toMatch(/^~(2\d\d|3[0-4]\d) ms$/);
    expect(await cell('ena2')).toMatch(/^~(9\d|1[01]\d) ms$/);
    const banner = await page.locator('#resolution').textContent();
    expect(banner).toMatch(/ena0 updates its counters about every (1(\.1)? s|9\d\d ms): bursts shorter than that cannot be resolved/);
    expect(banner).toMatch(/ena1 updates its counters about every (2\d\d|3[0-4]\d) ms/);
    expect(banner).not.toContain('ena2');
    expect(errors).toEqual([]);
  }, 60_000);
});
