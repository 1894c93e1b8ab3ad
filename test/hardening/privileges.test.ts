// How the DaemonSet runs it: uid 65534, no capabilities, no new privileges,
// a read-only root filesystem. The ioctls need nothing more.

import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CLI, finished } from '../helpers/cli.js';
import { has, parseExposition, value } from '../helpers/exposition.js';
import { until } from '../../src/harness/wait.js';
import { isRoot } from '../helpers/host.js';

const hasTools = spawnSync('sh', ['-c', 'command -v unshare && command -v setpriv && command -v mount']).status === 0;
const hasEth0 = existsSync('/sys/class/net/eth0');
const reason = !isRoot ? 'needs root to drop privileges and remount' : !hasTools ? 'needs unshare, setpriv, mount (util-linux)' : !hasEth0 ? 'no eth0' : '';

describe.skipIf(reason !== '')(`unprivileged, read-only ${reason && `(skipped: ${reason})`}`, () => {
  it('serve runs as uid 65534 with every capability dropped on a read-only root, and samples eth0', async () => {
    // A private mount namespace whose root is read-only; then drop to nobody.
    const inner = [
      'mount --make-rprivate / && mount -o remount,bind,ro / &&',
      'if touch /ethburst-write-probe 2>/dev/null; then echo "root is writable" >&2; exit 9; fi;',
      `exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs "${process.execPath}" "${CLI}" serve --listen 127.0.0.1:0 --log-format json --device eth0`,
    ].join(' ');
    const child = spawn('unshare', ['--mount', 'sh', '-c', inner], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = finished(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const base = await until(() => {
        const m = /"msg":"serving","listen":"127\.0\.0\.1:(\d+)"/.exec(stderr);
        return m ? `http://127.0.0.1:${m[1]}` : null;
      }, `serve to start (stderr: ${stderr})`);
      await until(async () => (await fetch(`${base}/readyz`)).status === 200, 'readiness');
      const m = parseExposition(await (await fetch(`${base}/metrics`)).text());
      expect(value(m, 'ethtool_up', { device: 'eth0' })).toBe(1);
      // Not one read failed for want of a permission.
      expect(has(m, 'ethburst_sample_errors_total', { device: 'eth0' })).toBe(false);
    } finally {
      // The shell exec'd into node, so the signal reaches serve itself.
      child.kill('SIGTERM');
    }
    const r = await done;
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/EPERM|EACCES|EROFS/);
  });
});
