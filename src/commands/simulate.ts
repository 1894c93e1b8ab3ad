// ethburst simulate: write a trace of simulated ENA devices (src/sources/simulate.ts)
// on a virtual clock, as fast as the output takes it. With --expected, also
// write the bursts `ethburst analyze --format json` must find in it, so
// `analyze` can be checked end to end without an EC2 instance.

import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { defineCommand } from '../cli/command.js';
import { InputError } from '../errors.js';
import type { Sample } from '../sampling/sample.js';
import type { NodeContext } from '../sampling/context.js';
import { SimulateSource } from '../sources/simulate.js';
import { formatContextLine, formatTraceLine } from '../sources/trace.js';
import { burstBasics } from '../aggregation/burst-record.js';

async function openOut(path: string, flag: string): Promise<WriteStream> {
  const file = createWriteStream(path, { flags: 'w' });
  await new Promise<void>((resolve, reject) => {
    file.once('open', () => resolve());
    file.once('error', (err: NodeJS.ErrnoException) => reject(new InputError(`--${flag} ${path}: ${err.code ?? err.message}`)));
  });
  return file;
}

async function closeOut(file: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

export default defineCommand({
  name: 'simulate',
  summary: 'Write a JSON Lines trace of simulated ENA devices with seeded-random bursts, resets and failed reads.',
  usage: '[--simulate-devices 1] [--duration 60s] [--simulate-seed 1] [--out FILE] [--expected FILE]',
  // The simulator's knobs are spelled as in `serve --source simulate` and
  // `bench`, so one name means one thing everywhere.
  flags: {
    'simulate-devices': { type: 'int', default: '1', min: 1, max: 64, deprecatedNames: ['devices'], help: 'number of simulated devices (eth0, eth1, ...)' },
    'simulate-queues': { type: 'int', default: '4', min: 1, max: 128, deprecatedNames: ['queues'], help: 'IO queues per device (per-queue stats)' },
    duration: { type: 'duration', default: '60s', min: 1, max: 7 * 86_400_000, help: 'simulated time span' },
    interval: { type: 'duration', default: '100ms', min: 1, max: 3_600_000, shared: true, help: 'time between samples' },
    'simulate-seed': { type: 'int', default: '1', min: 0, max: 2 ** 31 - 1, deprecatedNames: ['seed'], help: 'PRNG seed; the same seed gives the same trace' },
    out: { type: 'string', valueName: 'FILE', help: 'write the trace here instead of stdout' },
    expected: { type: 'string', valueName: 'FILE', help: 'write the bursts analyze must find (its JSON format, default burst gap)' },
    'burst-gap': { type: 'duration', default: '2s', min: 1, max: 86_400_000, help: 'burst gap used for --expected' },
  },
  async run(flags, _positionals, io) {
    const sim = new SimulateSource({
      devices: flags['simulate-devices'],
      queues: flags['simulate-queues'],
      durationMs: flags.duration,
      intervalMs: flags.interval,
      seed: flags['simulate-seed'],
    });
    const file = flags.out !== undefined ? await openOut(flags.out, 'out') : null;
    const out: NodeJS.WritableStream = file ?? io.stdout;

    let batch: string[] = [];
    const sink = {
      sample(s: Readonly<Sample>) {
        batch.push(formatTraceLine(s));
      },
      context(c: Readonly<NodeContext>) {
        const line = formatContextLine(c);
        if (line !== null) batch.push(line);
      },
    };
    while (sim.step(sink)) {
      if (io.signal.aborted) break;
      if (batch.length >= 256) {
        const ok = out.write(`${batch.join('\n')}\n`);
        batch = [];
        if (!ok) await once(out, 'drain');
      }
    }
    if (batch.length > 0) out.write(`${batch.join('\n')}\n`);
    if (file) await closeOut(file);

    if (flags.expected !== undefined) {
      const exp = await openOut(flags.expected, 'expected');
      exp.write(`${JSON.stringify({ bursts: sim.expectedBursts(flags['burst-gap']).map(burstBasics) })}\n`);
      await closeOut(exp);
    }
    return 0;
  },
});
