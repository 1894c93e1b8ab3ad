// ethburst record: sample and write the trace format (src/sources/trace.ts), one
// line per device per tick, to a file or stdout, until --duration ends or
// SIGINT/SIGTERM/SIGHUP; then flush and exit. Exit 1, with one line on
// stderr, when the trace could not be written or samples were lost.

import { createWriteStream, readlinkSync, statSync, truncateSync, type WriteStream } from 'node:fs';
import { defineCommand } from '../cli/command.js';
import { backoffFrom, checkDiscovery, deviceFlags, fakeDeviceNames, intervalFlag, selectionFrom } from '../cli/device-flags.js';
import { InputError, describeErrno } from '../errors.js';
import { NativeSource } from '../sampling/native-source.js';
import type { Sample } from '../sampling/sample.js';
import type { NodeContext } from '../sampling/context.js';
import { formatContextLine, formatLinksLine, formatTraceLine } from '../sources/trace.js';
import { LinkPoller } from '../talkers/link-poller.js';
import { kubeApiFrom, kubernetesFlags, startPodDirectory } from '../cli/kubernetes-flags.js';
import { createLogger } from '../log.js';
import { hostname } from 'node:os';
import type { LinkSnapshot } from '../talkers/top-talkers.js';

/** "ENOSPC (no space left on device)" for a system error, its message otherwise. */
function describeWriteError(err: NodeJS.ErrnoException): string {
  if (typeof err.errno === 'number' && err.code !== undefined && !err.code.startsWith('ERR_')) {
    const [code, description] = describeErrno(err.errno);
    return `${code} (${description})`;
  }
  return err.message;
}

/** "stdout (/dev/full)" when stdout is a file, so the error names what filled up. */
function describeStdout(): string {
  try {
    const path = readlinkSync('/proc/self/fd/1');
    return path.startsWith('/') ? `stdout (${path})` : 'stdout';
  } catch {
    return 'stdout';
  }
}

export default defineCommand({
  name: 'record',
  summary: 'Sample NIC statistics and write a JSON Lines trace (one line per device per tick).',
  usage: '[--interval 100ms] [--duration 10s] [--out FILE] [--device NAME]...',
  flags: {
    ...intervalFlag,
    duration: { type: 'duration', min: 1, max: 366 * 86_400_000, help: 'stop after this long (default: until SIGINT/SIGTERM/SIGHUP)' },
    out: { type: 'string', valueName: 'FILE', help: 'write the trace here instead of stdout' },
    ...deviceFlags,
    ...kubernetesFlags,
  },
  async run(flags, _positionals, io) {
    const kube = kubeApiFrom(flags, io.env);
    const source = new NativeSource({
      intervalMs: flags.interval,
      selection: selectionFrom(flags),
      rescanMs: flags.rescan,
      backoff: backoffFrom(flags),
      extraDevices: fakeDeviceNames(io.env),
      // Lines reach the file within half a second of being sampled.
      drainMs: 500,
    });
    // Every usage problem is found before the output file is created.
    checkDiscovery(await source.prepare());

    let file: WriteStream | null = null;
    if (flags.out !== undefined) {
      file = createWriteStream(flags.out, { flags: 'w' });
      await new Promise<void>((resolve, reject) => {
        file!.once('open', () => resolve());
        file!.once('error', (err: NodeJS.ErrnoException) => reject(new InputError(`--out ${flags.out}: ${err.code ?? err.message}`)));
      });
    }
    const out: NodeJS.WritableStream = file ?? io.stdout;
    const target = flags.out ?? (io.stdout === process.stdout ? describeStdout() : 'stdout');
    let failed: NodeJS.ErrnoException | null = null;
    out.on('error', (err: NodeJS.ErrnoException) => {
      failed ??= err;
      source.stop();
    });

    // Lines are batched per drain: one write per 500 ms, not per sample, and
    // a batch is whole lines, so whatever reaches the output ends in '\n'.
    let batch: string[] = [];
    /** Bytes of the batches the output confirmed written in full. */
    let whole = 0;
    let lastWrite: Promise<void> = Promise.resolve();
    let outputStalled = false;
    let paused = false;
    const flush = (): void => {
      if (paused) outputStalled = true;
      // After a failed write nothing more is written: it could only land
      // after a gap, or half of it.
      if (batch.length === 0 || failed) {
        batch = [];
        return;
      }
      const chunk = Buffer.from(`${batch.join('\n')}\n`);
      batch = [];
      lastWrite = new Promise<void>((resolve) => {
        const ok = out.write(chunk, (err?: Error | null) => {
          if (err) failed ??= err;
          else whole += chunk.length;
          resolve();
        });
        // A reader that stopped reading: leave samples in the ring (bounded,
        // and its overruns count what is lost) rather than in this process.
        if (!ok && !paused && !failed) {
          paused = true;
          source.pauseDrain();
          out.once('drain', () => {
            paused = false;
            source.resumeDrain();
          });
        }
      });
    };
    let tickRecords = 0;
    const sink = {
      sample(s: Readonly<Sample>) {
        batch.push(formatTraceLine(s));
      },
      context(c: Readonly<NodeContext>) {
        const line = formatContextLine(c);
        if (line !== null) batch.push(line);
      },
      links(l: Readonly<LinkSnapshot>) {
        batch.push(formatLinksLine(l));
      },
      tick() {
        tickRecords++;
      },
    };
    const flushTimer = setInterval(flush, 500);
    // The pods' veths every second, in the same stream (src/talkers/), named where the Kubernetes API says;
    // the first dump after the first samples, so every burst has device packets to share against.
    const log = createLogger({ level: 'warn', out: io.stderr });
    const directory = startPodDirectory(kube.api, io.env['NODE_NAME'] || hostname(), log);
    const pods = new LinkPoller({
      addon: source.addon,
      burstOpen: () => false,
      ready: () => tickRecords > 0,
      log,
      ...(directory ? { podOf: (ip: string) => directory.lookup(ip) } : {}),
    });
    pods.start(sink);
    const stop = (): void => {
      pods.stop();
      directory?.stop();
      source.stop();
    };
    io.signal.addEventListener('abort', stop, { once: true });
    const timer = flags.duration !== undefined ? setTimeout(stop, flags.duration) : null;
    try {
      await source.run(sink);
    } finally {
      pods.stop();
      directory?.stop();
      clearInterval(flushTimer);
      if (timer) clearTimeout(timer);
      io.signal.removeEventListener('abort', stop);
      flush();
    }
    // Waits for a stalled reader too: the final flush is the point of a
    // clean stop (a second signal exits at once).
    await lastWrite;
    if (file) await new Promise<void>((resolve) => file.end(() => resolve()));

    if (failed) {
      // A write cut short by a full disk leaves half a line; cut the file
      // back to the last whole batch so every line in it parses.
      if (file && flags.out !== undefined && whole < file.bytesWritten) {
        try {
          if (statSync(flags.out).isFile()) truncateSync(flags.out, whole);
        } catch {
          // The error below already says the trace is incomplete.
        }
      }
      io.stderr.write(`ethburst record: writing the trace to ${target}: ${describeWriteError(failed)}\n`);
      return 1;
    }
    // Overruns count every ring record that did not fit; the tick records
    // among them are not samples (the native tick counter says how many
    // there were). A lost back-off notice would count as one too: rare.
    const c = source.counters;
    const lost = Math.max(0, c.overruns - (c.ticks - tickRecords));
    if (lost > 0) {
      const why = outputStalled ? 'the output was not read fast enough' : 'ethburst could not drain its sample ring in time';
      io.stderr.write(`ethburst record: ${lost} samples lost: ${why}\n`);
      return 1;
    }
    return 0;
  },
});
