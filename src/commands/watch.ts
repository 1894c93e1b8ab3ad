// ethburst watch: a live terminal view of per-tick increases, one row per
// device and tracked stat. With --url it polls a running `ethburst serve`;
// without, it samples the local NICs itself (no server needed). On a
// terminal it redraws in place on the alternate screen until q or Ctrl-C;
// with stdout not a terminal it prints one plain snapshot per refresh.

import type { ReadStream, WriteStream } from 'node:tty';
import { setTimeout as sleep } from 'node:timers/promises';
import { trackedStatMatcher } from '../aggregation/stat-policy.js';
import { defineCommand } from '../cli/command.js';
import { backoffFrom, checkDiscovery, deviceFlags, fakeDeviceNames, intervalFlag, selectionFrom } from '../cli/device-flags.js';
import { NativeSource } from '../sampling/native-source.js';
import type { Feed } from '../watch/feed.js';
import { LocalFeed } from '../watch/local.js';
import { RemoteFeed } from '../watch/remote.js';
import { renderScreen } from '../watch/render.js';
import { Screen } from '../watch/terminal.js';
import { parseBaseUrl } from '../watch/url.js';

/** Width of plain snapshots when stdout is not a terminal (COLUMNS wins). */
const PLAIN_WIDTH = 132;

export default defineCommand({
  name: 'watch',
  summary: 'Live terminal view: per device and stat, a sparkline of the last 60 s of per-tick increases, current and peak rate, seconds with drops, last burst.',
  usage: '[--url http://HOST:PORT] [--device NAME]... [--refresh 1s]',
  flags: {
    url: {
      type: 'string',
      valueName: 'URL',
      help: 'read from a running `ethburst serve` at this address (default: sample the local NICs)',
      check: (v) => {
        const u = parseBaseUrl(v);
        return typeof u === 'string' ? u : null;
      },
    },
    refresh: { type: 'duration', default: '1s', min: 100, max: 60_000, help: 'how often the view is redrawn' },
    'burst-stat': { type: 'regex', repeatable: true, valueName: 'RE', help: 'without --url: also show stats matching (e.g. drops$ on virtio); default *_allowance_exceeded' },
    ...intervalFlag,
    ...deviceFlags,
  },
  async run(flags, _positionals, io) {
    const filter = { devices: flags.device, include: flags['device-include'], exclude: flags['device-exclude'] };
    let feed: Feed;
    if (flags.url !== undefined) {
      feed = new RemoteFeed(parseBaseUrl(flags.url) as URL, filter);
    } else {
      const native = new NativeSource({
        intervalMs: flags.interval,
        selection: selectionFrom(flags),
        rescanMs: flags.rescan,
        backoff: backoffFrom(flags),
        extraDevices: fakeDeviceNames(io.env),
      });
      // A bad --device is a usage error before the screen is touched.
      const found = await native.prepare();
      checkDiscovery(found);
      feed = new LocalFeed(native, `local (${found.selected.map((c) => c.info.name).join(', ')})`, flags.interval, trackedStatMatcher(flags['burst-stat']));
    }

    const out = io.stdout as WriteStream;
    const tty = out.isTTY === true;
    const stdin = process.stdin.isTTY ? (process.stdin as ReadStream) : null;
    const screen = tty ? new Screen(out, stdin) : null;

    let quit!: () => void;
    const quitting = new Promise<void>((resolve) => (quit = resolve));
    const onAbort = (): void => quit();
    io.signal.addEventListener('abort', onAbort, { once: true });
    if (io.signal.aborted) quit();
    let stopped = false;
    // Wakes the refresh sleep at once, so quitting never waits for a timer.
    const wake = new AbortController();
    void quitting.then(() => {
      stopped = true;
      wake.abort();
    });

    let last: Awaited<ReturnType<Feed['refresh']>> | null = null;
    const draw = (): void => {
      if (!last) return;
      if (screen) {
        screen.draw(renderScreen(last, { ...screen.size, color: true }));
      } else {
        const width = Number(io.env['COLUMNS']) || PLAIN_WIDTH;
        const lines = renderScreen(last, { width, height: last.series.length + 5, color: false });
        while (lines.length > 0 && lines.at(-1) === '') lines.pop();
        out.write(`${lines.map((l) => l.trimEnd()).join('\n')}\n\n`);
      }
    };

    try {
      screen?.enter(quit, draw);
      while (!stopped) {
        const next = await Promise.race([feed.refresh(), quitting.then(() => null)]);
        if (next === null) break;
        last = next;
        draw();
        await sleep(flags.refresh, undefined, { signal: wake.signal }).catch(() => {});
      }
    } finally {
      // The terminal first: a slow close must not leave it raw.
      screen?.leave();
      io.signal.removeEventListener('abort', onAbort);
      await feed.close();
    }
    return 0;
  },
});
