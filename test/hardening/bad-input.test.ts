// Bad input never gets further than one clear line and exit 2: every flag
// of every command with a bad value (on the command line and as ETHBURST_*),
// trace values out of range, and fuzzed traces and argument lists.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli.js';
import type { Command } from '../../src/command.js';
import { UsageError } from '../../src/errors.js';
import { HelpRequested, envName, parseFlags, type FlagDef } from '../../src/flags.js';
import { TraceSyntaxError, parseTraceLine } from '../../src/trace.js';
import { runCli, usageFailure } from '../helpers/cli.js';

const COMMANDS = ['serve', 'record', 'analyze', 'simulate'] as const;

async function load(name: string): Promise<Command> {
  return (await import(`../../src/commands/${name}.ts`)).default as Command;
}

function sink(): { stream: NodeJS.WritableStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await main(argv, { stdout: out.stream, stderr: err.stream, env, signal: new AbortController().signal });
  return { code, out: out.text(), err: err.text() };
}

/** A value the flag's type can never accept, or null if any text is acceptable at parse time. */
function badValue(def: FlagDef): string | null {
  switch (def.type) {
    case 'duration':
      return 'soon';
    case 'int':
      return 'many';
    case 'regex':
      return '(unclosed';
    case 'boolean':
      return 'maybe';
    case 'string':
      return def.choices || def.check ? 'not-a-valid-choice' : null;
  }
}

describe('every flag with a bad value', async () => {
  const cases: [string, string, string][] = [];
  for (const name of COMMANDS) {
    const cmd = await load(name);
    for (const [flag, def] of Object.entries(cmd.flags)) {
      const bad = badValue(def);
      if (bad !== null) cases.push([name, flag, bad]);
    }
  }

  it.each(cases)('%s --%s %s: one line, exit 2, nothing on stdout', async (name, flag, bad) => {
    const r = await run([name, `--${flag}=${bad}`, ...(name === 'analyze' ? ['x.jsonl'] : [])]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toContain(`--${flag}`);
  });

  it.each(cases)('%s with %s from the environment names the variable', async (name, flag, bad) => {
    const r = await run([name, ...(name === 'analyze' ? ['x.jsonl'] : [])], { [envName(flag)]: bad });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toContain(envName(flag));
  });

  it('covers every command’s typed flags', () => {
    expect(cases.length).toBeGreaterThan(30);
  });
});

describe('trace values out of range', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ethburst-bad-'));
  const line = (v: string) => `{"t": 1, "device": "eth0", "driver": "ena", "stats": {"pps_allowance_exceeded": ${v}}}\n`;
  it.each([
    ['above 2^64', '"18446744073709551616"', /not a non-negative integer below 2\^64/],
    ['negative', '-1', /not a non-negative integer/],
    ['fractional', '1.5', /not a non-negative integer/],
    ['a number above 2^53 (would round)', '9007199254740993', /use a decimal string above 2\^53/],
    ['not a number', 'true', /not a non-negative integer/],
  ])('%s', (_label, v, message) => {
    const f = join(dir, `${_label.replace(/\W+/g, '-')}.jsonl`);
    writeFileSync(f, line('0') + line(v).replace('"t": 1', '"t": 2'));
    const msg = usageFailure(runCli(['analyze', f]));
    expect(msg).toContain(`${f}:2:`);
    expect(msg).toMatch(message);
  });

  it('a malformed line in a replayed trace stops serve with FILE:LINE and exit 2', () => {
    const f = join(dir, 'replay.jsonl');
    writeFileSync(f, `${line('0')}{"t": 2, "device": "eth0", "stats": {"x": -5}}\n`);
    const r = runCli(['serve', '--listen', '127.0.0.1:0', '--source', `replay:${f}`, '--replay-speed', 'fast']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^ethburst serve: ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: `));
  });
});

describe('fuzz', () => {
  it('the trace parser returns a record or throws TraceSyntaxError, for any line', () => {
    const jsonish = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .record({
          t: fc.oneof(fc.double(), fc.integer(), fc.string()),
          device: fc.oneof(fc.string(), fc.integer()),
          driver: fc.oneof(fc.string(), fc.constant(undefined)),
          stats: fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.bigInt().map(String), fc.double(), fc.string())),
          error: fc.oneof(fc.constant(undefined), fc.string()),
        })
        .map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(jsonish, (line) => {
        try {
          const r = parseTraceLine(line);
          if (r?.kind === 'sample') expect(r.values.length).toBe(2 * r.names.length);
        } catch (err) {
          expect(err).toBeInstanceOf(TraceSyntaxError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('the flag parser returns or throws UsageError/HelpRequested, for any argv and environment', async () => {
    const specs = await Promise.all(COMMANDS.map(load));
    const token = fc.oneof(
      fc.constantFrom(...specs.flatMap((c) => Object.keys(c.flags).map((f) => `--${f}`)), '--', '-', '-h', '--nope'),
      fc.string({ maxLength: 12 }),
      fc.constantFrom('100ms', '0s', '1h', '(', '.', 'true', '-1', '99999999999999999999'),
    );
    fc.assert(
      fc.property(fc.constantFrom(...specs), fc.array(token, { maxLength: 8 }), fc.dictionary(fc.constantFrom('ETHBURST_INTERVAL', 'ETHBURST_DEVICE', 'ETHBURST_LISTEN', 'ETHBURST_BURST_GAP'), fc.string({ maxLength: 10 })), (cmd, argv, env) => {
        try {
          parseFlags(cmd.name, cmd.flags, argv, env, cmd.positionals);
        } catch (err) {
          expect(err instanceof UsageError || err instanceof HelpRequested).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
