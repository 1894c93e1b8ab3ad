// The sampler thread must end cleanly however its owner goes away: stop(),
// process exit, worker termination, garbage collection. Each case runs in a
// child process so thread and descriptor counts are its own.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { addonPath } from '../../src/sampling/native.js';

const hasEth0 = existsSync('/sys/class/net/eth0');
const ADDON = JSON.stringify(addonPath());

// Shared prelude: a started sampler on eth0 and helpers to count our
// sampler threads (named "ethburst-sample") and open descriptors.
const PRELUDE = `
const fs = require('node:fs');
const addon = require(${ADDON});
const L = addon.ringLayout;
function ring() {
  const r = new Uint32Array(new SharedArrayBuffer((L.headerU32 + 2 * 4096) * 4));
  r[L.header.magic] = L.magic; r[L.header.capacity] = 4096;
  return r;
}
const written = (r) => Atomics.load(r, L.header.writePos) > 0;
function samplerThreads() {
  return fs.readdirSync('/proc/self/task').filter((t) => {
    try { return fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim() === 'ethburst-sample'; } catch { return false; }
  }).length;
}
const fds = () => fs.readdirSync('/proc/self/fd').length;
function startSampler(r) {
  const s = new addon.Sampler(r, 10e6);
  s.add(1, 'eth0');
  if (s.start() !== 0) throw new Error('start failed');
  return s;
}
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
`;

function runChild(code: string, args: string[] = []): { status: number | null; signal: string | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [...args, '-e', PRELUDE + code], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

describe.skipIf(!hasEth0)(`sampler lifecycle ${hasEth0 ? '' : '(skipped: no eth0)'}`, () => {
  it('stop() joins the thread and closes its socket; start/stop 50 times leaks nothing', () => {
    const r = runChild(`
      (async () => {
        const baseFds = fds();
        for (let i = 0; i < 50; i++) {
          const s = startSampler(ring());
          await sleep(2);
          s.stop();
        }
        console.log(JSON.stringify({ threads: samplerThreads(), fdDelta: fds() - baseFds }));
      })();
    `);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual({ threads: 0, fdDelta: 0 });
  });

  it('process.exit() while sampling exits cleanly with the code given', () => {
    const r = runChild(`
      const r = ring();
      startSampler(r);
      setTimeout(() => { console.log(written(r) ? 'sampled' : 'nothing'); process.exit(7); }, 200);
    `);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(7);
    expect(r.out.trim()).toBe('sampled');
  });

  it('a running sampler that becomes garbage stops its thread and frees its socket', () => {
    const r = runChild(
      `
      (async () => {
        const baseFds = fds();
        let r = ring();
        (() => { startSampler(r); })();
        await sleep(100);
        const before = samplerThreads();
        for (let i = 0; i < 10 && samplerThreads() > 0; i++) { global.gc(); await sleep(50); }
        console.log(JSON.stringify({ before, after: samplerThreads(), fdDelta: fds() - baseFds, sampled: written(r) }));
      })();
    `,
      ['--expose-gc'],
    );
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual({ before: 1, after: 0, fdDelta: 0, sampled: true });
  });

  it('terminating a worker that is sampling ends the thread without crashing the process', () => {
    const r = runChild(`
      const { Worker } = require('node:worker_threads');
      (async () => {
        // Node keeps a few descriptors after its first worker: warm up with
        // a worker that never loads the addon, then take the baseline.
        const plain = new Worker("require('node:worker_threads').parentPort.postMessage(1)", { eval: true });
        await new Promise((res) => plain.once('message', res));
        await plain.terminate();
        await sleep(50);
        const baseFds = fds();
        const w = new Worker(${JSON.stringify(PRELUDE)} + "const s = startSampler(ring()); require('node:worker_threads').parentPort.postMessage('started'); setInterval(() => {}, 1000);", { eval: true });
        await new Promise((res) => w.once('message', res));
        await sleep(100);
        const during = samplerThreads();
        await w.terminate();
        await sleep(50);
        console.log(JSON.stringify({ during, after: samplerThreads(), fdDelta: fds() - baseFds }));
      })();
    `);
    expect(r.err).toBe('');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ during: 1, after: 0, fdDelta: 0 });
  });
});
