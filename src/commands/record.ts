// ethburst record: sample and write the trace format (src/trace.ts), one
// line per device per tick, to a file or stdout, until --duration ends or
// SIGINT/SIGTERM; then flush and exit 0.

import { createWriteStream, type WriteStream } from 'node:fs';
import { defineCommand } from '../command.js';
import { backoffFrom, checkDiscovery, deviceFlags, fakeDeviceNames, intervalFlag, selectionFrom } from '../device-flags.js';
import { InputError } from '../errors.js';
import { NativeSource } from '../sampler.js';
import type { Sample } from '../sample.js';
import { formatTraceLine } from '../trace.js';

export default defineCommand({
  name: 'record',
  summary: 'Sample NIC statistics and write a JSON Lines trace (one line per device per tick).',
  usage: '[--interval 100ms] [--duration 10s] [--out FILE] [--device NAME]...',
  flags: {
    ...intervalFlag,
    duration: { type: 'duration', min: 1, max: 366 * 86_400_000, help: 'stop after this long (default: until SIGINT/SIGTERM)' },
    out: { type: 'string', valueName: 'FILE', help: 'write the trace here instead of stdout' },
    ...deviceFlags,
  },
  async run(flags, _positionals, io) {
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
    let writeError: Error | null = null;
    out.on('error', (err: Error) => {
      writeError = err;
      source.stop();
    });

    // Lines are batched per drain: one write per 500 ms, not per sample.
    let batch: string[] = [];
    const flush = (): void => {
      if (batch.length === 0) return;
      out.write(`${batch.join('\n')}\n`);
      batch = [];
    };
    const sink = {
      sample(s: Readonly<Sample>) {
        batch.push(formatTraceLine(s));
      },
    };
    const flushTimer = setInterval(flush, 500);
    const stop = (): void => source.stop();
    io.signal.addEventListener('abort', stop, { once: true });
    const timer = flags.duration !== undefined ? setTimeout(stop, flags.duration) : null;
    try {
      await source.run(sink);
    } finally {
      clearInterval(flushTimer);
      if (timer) clearTimeout(timer);
      io.signal.removeEventListener('abort', stop);
      flush();
    }
    if (file) await new Promise<void>((resolve) => file!.end(resolve));
    if (writeError && (writeError as NodeJS.ErrnoException).code !== 'EPIPE') {
      throw new InputError(`writing the trace: ${(writeError as Error).message}`);
    }
    return 0;
  },
});
