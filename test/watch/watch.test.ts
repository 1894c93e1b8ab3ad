// `ethburst watch` as an SRE runs it: in a real terminal (tmux) against a
// simulated exporter with a scripted burst, sampling locally, quitting with
// q and Ctrl-C; plus plain output when stdout is not a terminal and the
// usage errors.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { freePort } from '../../src/harness/ports.js';
import { until } from '../../src/harness/wait.js';
import { CLI, finished, runCli, startCli, usageFailure } from '../helpers/cli.js';
import { startSimulated, type Serving } from '../page/serve-process.js';
import { TmuxSession, tmuxMissing } from './tmux.js';

const hasEth0 = existsSync('/sys/class/net/eth0');

describe('watch: bad flags', () => {
  it.each([
    ['ftp://127.0.0.1:19810', /--url: "ftp:\/\/127.0.0.1:19810": only http:\/\/ and https:\/\/ are supported/],
    ['http://exa mple:1', /--url: "http:\/\/exa mple:1" is not a URL/],
    ['http://127.0.0.1:19810/?x=1', /--url: .*no query or fragment/],
  ])('--url %s is one line and exit 2', (url, message) => {
    expect(usageFailure(runCli(['watch', '--url', url]))).toMatch(message);
  });

  it('--refresh out of range', () => {
    expect(usageFailure(runCli(['watch', '--url', 'http://127.0.0.1:1', '--refresh', '10ms']))).toMatch(/--refresh: 10ms is out of range/);
  });
});

describe.skipIf(tmuxMissing !== null)(`watch in a terminal${tmuxMissing ? ` (skipped: ${tmuxMissing})` : ''}`, () => {
  let serve: Serving;
  const sessions: TmuxSession[] = [];
  const session = (argv: string[]) => {
    const s = new TmuxSession(argv);
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    serve = await startSimulated({
      devices: 2,
      script: [{ device: 'eth1', stat: 'pps_allowance_exceeded', at_ms: 5000, duration_ms: 1500, packets: 30_000 }],
    });
  });

  afterAll(async () => {
    for (const s of sessions) s.kill();
    await serve?.stop();
  });

  it('shows a row per device and stat, the burst as it happens and after, and q restores the terminal', async () => {
    const t = session([process.execPath, CLI, 'watch', '--url', serve.base]);
    const screen = await until(() => (/eth1\s+linklocal/.test(t.capture()) ? t.capture() : null), 'the rows', 10_000);
    expect(screen).toMatch(/^ethburst watch · http:\/\/127\.0\.0\.1:\d+ \(simulate \(2 ENA devices\)\) · every 100 ms/);
    for (const dev of ['eth0', 'eth1']) for (const stat of ['bw_in', 'bw_out', 'pps', 'conntrack', 'linklocal']) expect(screen).toMatch(new RegExp(`^${dev}\\s+${stat}\\s`, 'm'));
    expect(t.pane()).toMatchObject({ alternate: true, cursor: false });

    // During the burst: bars in the sparkline and "NOW" in the last-burst column.
    const during = await until(() => /^eth1\s+pps\s+.*[▁▂▃▄▅▆▇█].*NOW: /m.exec(t.capture())?.[0] ?? null, 'the burst in progress', 15_000);
    expect(during).toMatch(/20k/);
    // Finished: its start, duration and size.
    const after = await until(() => /^eth1\s+pps\s+.*\d\d:\d\d:\d\d\.\d 1\.[5-7] s 30,000 pkts, \d+s ago/m.exec(t.capture())?.[0] ?? null, 'the finished burst', 15_000);
    expect(after).toMatch(/[▁▂▃▄▅▆▇█]/);
    expect(t.capture()).toMatch(/^eth0\s+pps\s+[·\s]+\s0\s+0\s+0\s+–/m);
    // Under the rows, the server's windows (/api/windows): the burst's 30,000 packets over the hour.
    // The window line is polled less often than the rows: wait for the poll after the burst.
    const windows = await until(() => /^eth1\s+pps\s+1m p99 .*\(1 burst in 1h\)\s*$/m.exec(t.capture())?.[0] ?? null, 'the window line with the burst', 15_000);
    expect(windows.trimEnd()).toMatch(/· 1h p99 [0-9.]+k?\/s max [0-9.]+k\/s · burst size p99 30k \(1 burst in 1h\)$/);

    t.keys('q');
    expect(await until(() => t.status(), 'watch to exit', 5000)).toBe(0);
    // Main screen back, cursor shown, raw mode off (canonical input and echo).
    expect(t.pane()).toMatchObject({ alternate: false, cursor: true });
    expect(t.stty()).toMatch(/(^|\s)icanon(\s|$)/);
    expect(t.stty()).toMatch(/(^|\s)echo(\s|$)/);
    expect(t.capture()).not.toMatch(/ethburst watch/);
  });

  it('Ctrl-C quits too, and a stopped exporter is shown as unreachable rather than ending the view', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await freePort();
    const t = session([process.execPath, CLI, 'watch', '--url', `http://127.0.0.1:${port}/`]);
    await until(() => (new RegExp(`exporter unreachable at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED \\(retrying\\)`).test(t.capture()) ? true : null), 'the unreachable notice', 10_000);
    t.keys('C-c');
    expect(await until(() => t.status(), 'watch to exit', 5000)).toBe(0);
    expect(t.pane()).toMatchObject({ alternate: false, cursor: true });
    expect(t.stty()).toMatch(/(^|\s)icanon(\s|$)/);
  });

  it.skipIf(!hasEth0)(`samples locally without --url${hasEth0 ? '' : ' (skipped: no eth0)'}`, async () => {
    const t = session([process.execPath, CLI, 'watch', '--device', 'eth0', '--burst-stat', 'drops$']);
    const screen = await until(() => (/^eth0\s+rx_drops\s/m.test(t.capture()) ? t.capture() : null), 'local rows', 10_000);
    expect(screen).toMatch(/^ethburst watch · local \(eth0\) · every 100 ms/);
    expect(screen).toMatch(/1 device, 1 up/);
    t.keys('q');
    expect(await until(() => t.status(), 'watch to exit', 5000)).toBe(0);
  });
});

describe('watch with stdout not a terminal', () => {
  let serve: Serving;
  beforeAll(async () => {
    serve = await startSimulated({ devices: 1 });
  });
  afterAll(async () => {
    await serve?.stop();
  });

  it('prints plain snapshots (no escape sequences) and exits 0 on SIGINT', async () => {
    const child = startCli(['watch', '--url', serve.base, '--refresh', '500ms']);
    const done = finished(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer | string) => (out += d.toString()));
    await until(() => ((out.match(/^ethburst watch ·/gm) ?? []).length >= 2 ? true : null), 'two snapshots', 10_000);
    child.kill('SIGINT');
    const r = await done;
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('\x1b');
    expect(r.stdout).toMatch(/^eth0\s+pps\s/m);
    expect(r.stderr).toBe('');
  });
});
