// Bad input never gets further than one clear line and exit 2: every flag
// of every command with a bad value (on the command line and in each
// variable the command reads for it), trace values out of range, and fuzzed
// traces and argument lists. A variable meant for one command never breaks
// another.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli.js';
import type { Command } from '../../src/cli/command.js';
import { UsageError } from '../../src/errors.js';
import { HelpRequested, envNames, parseFlags, sharedEnvName, type FlagDef } from '../../src/cli/flags.js';
import { TraceSyntaxError, parseTraceLine } from '../../src/sources/trace.js';
import { runCli, usageFailure } from '../helpers/cli.js';

const COMMANDS = ['serve', 'record', 'analyze', 'simulate', 'rules', 'cloudwatch', 'bench', 'watch'] as const;

async function load(name: string): Promise<Command> {
  const mod = (await import(`../../src/commands/${name}.ts`)) as { default: Command };
  return mod.default;
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
      // A tab: no host name, URL, HOST:PORT or CloudWatch name has one.
      return def.choices ? 'not-a-valid-choice' : def.check ? 'no such:\tvalue' : null;
  }
}

describe('every flag with a bad value', async () => {
  const cases: [string, string, string][] = [];
  const envCases: [string, string, string][] = [];
  for (const name of COMMANDS) {
    const cmd = await load(name);
    for (const [flag, def] of Object.entries(cmd.flags)) {
      const bad = badValue(def);
      if (bad !== null) cases.push([name, flag, bad]);
      if (bad !== null) for (const v of envNames(name, flag, def)) envCases.push([name, v, bad]);
    }
  }

  it.each(cases)('%s --%s %s: one line, exit 2, nothing on stdout', async (name, flag, bad) => {
    const r = await run([name, `--${flag}=${bad}`, ...(name === 'analyze' ? ['x.jsonl'] : [])]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toContain(`--${flag}`);
  });

  it.each(envCases)('%s with %s=%s names the variable', async (name, variable, bad) => {
    const r = await run([name, ...(name === 'analyze' ? ['x.jsonl'] : [])], { [variable]: bad });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(new RegExp(`^ethburst ${name}: ${variable}: `));
  });

  it('covers every command’s typed flags', () => {
    expect(cases.length).toBeGreaterThan(45);
    expect(envCases.length).toBeGreaterThan(cases.length);
  });
});

describe('a variable meant for one command never breaks another', async () => {
  const specs = await Promise.all(COMMANDS.map(load));
  // Every variable of every command, set to a value that command refuses.
  const poison: NodeJS.ProcessEnv = {};
  for (const c of specs) {
    for (const [flag, def] of Object.entries(c.flags)) {
      const bad = badValue(def);
      if (bad !== null && !def.shared) poison[envNames(c.name, flag, def)[0]!] = bad;
    }
  }

  it.each(COMMANDS)('%s parses with every other command’s variables set to bad values', (name) => {
    const cmd = specs.find((c) => c.name === name)!;
    const mine = new Set(Object.entries(cmd.flags).flatMap(([flag, def]) => envNames(name, flag, def)));
    const others = Object.fromEntries(Object.entries(poison).filter(([v]) => !mine.has(v)));
    expect(Object.keys(others).length).toBeGreaterThan(10);
    const warnings: string[] = [];
    expect(() => parseFlags(name, cmd.flags, name === 'analyze' ? ['x.jsonl'] : [], others, cmd.positionals, (l) => warnings.push(l))).not.toThrow();
    expect(warnings).toEqual([]);
  });

  it('ETHBURST_ANALYZE_FORMAT=json reaches analyze and leaves rules alone', async () => {
    const plain = await run(['rules']);
    const withEnv = await run(['rules'], { ETHBURST_ANALYZE_FORMAT: 'json' });
    expect(withEnv).toEqual(plain);
    expect(plain.code).toBe(0);
    expect(plain.out).toMatch(/^groups:/m);
    const dir = mkdtempSync(join(tmpdir(), 'ethburst-env-'));
    const trace = join(dir, 't.jsonl');
    writeFileSync(trace, '{"t": 1, "device": "eth0", "driver": "ena", "stats": {"pps_allowance_exceeded": 0}}\n');
    const analyzed = await run(['analyze', trace], { ETHBURST_ANALYZE_FORMAT: 'json', ETHBURST_RULES_FORMAT: 'operator' });
    expect(analyzed.code).toBe(0);
    expect(JSON.parse(analyzed.out)).toHaveProperty('bursts', []);
  });

  it('the 0.1.0 name ETHBURST_FORMAT=json no longer changes rules: its output is unchanged, plus one warning naming the variable to use', async () => {
    const plain = await run(['rules']);
    const legacy = await run(['rules'], { [sharedEnvName('format')]: 'json' });
    expect(legacy.code).toBe(0);
    expect(legacy.out).toBe(plain.out);
    expect(legacy.err).toBe('ethburst rules: warning: ETHBURST_FORMAT is not read (variables are per command now); use ETHBURST_RULES_FORMAT\n');
  });

  it('renamed flags still work under their old spelling, with one warning line each', async () => {
    const now = await run(['simulate', '--simulate-devices', '2', '--simulate-seed', '3', '--simulate-queues', '1', '--duration', '2s']);
    const old = await run(['simulate', '--devices', '2', '--seed=3', '--queues', '1', '--duration', '2s']);
    expect(now.err).toBe('');
    expect(old.code).toBe(0);
    expect(old.out).toBe(now.out);
    expect(old.err.trimEnd().split('\n')).toEqual([
      'ethburst simulate: warning: --devices is deprecated, use --simulate-devices',
      'ethburst simulate: warning: --seed is deprecated, use --simulate-seed',
      'ethburst simulate: warning: --queues is deprecated, use --simulate-queues',
    ]);
  });

  it('a shared variable (ETHBURST_INTERVAL) is read by every command that samples', () => {
    for (const c of specs) {
      if (!('interval' in c.flags)) continue;
      expect(() => parseFlags(c.name, c.flags, c.name === 'analyze' ? ['x.jsonl'] : [], { ETHBURST_INTERVAL: 'soon' }, c.positionals, () => {}), c.name).toThrow(
        /^ETHBURST_INTERVAL: "soon" is not a duration/,
      );
    }
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
      fc.constantFrom(
        ...specs.flatMap((c) => Object.entries(c.flags).flatMap(([f, def]) => [f, ...(def.deprecatedNames ?? [])].map((n) => `--${n}`))),
        '--',
        '-',
        '-h',
        '--nope',
      ),
      fc.string({ maxLength: 12 }),
      fc.constantFrom('100ms', '0s', '1h', '(', '.', 'true', '-1', '99999999999999999999'),
    );
    fc.assert(
      fc.property(fc.constantFrom(...specs), fc.array(token, { maxLength: 8 }), fc.dictionary(fc.constantFrom('ETHBURST_INTERVAL', 'ETHBURST_DEVICE', 'ETHBURST_SERVE_LISTEN', 'ETHBURST_SERVE_BURST_GAP', 'ETHBURST_ANALYZE_FORMAT', 'ETHBURST_LISTEN'), fc.string({ maxLength: 10 })), (cmd, argv, env) => {
        try {
          parseFlags(cmd.name, cmd.flags, argv, env, cmd.positionals, () => {});
        } catch (err) {
          expect(err instanceof UsageError || err instanceof HelpRequested).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
