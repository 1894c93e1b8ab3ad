import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/cli/duration.js';
import { UsageError } from '../../src/errors.js';
import type { Command } from '../../src/cli/command.js';
import { HelpRequested, envName, envNames, formatFlagHelp, parseFlags } from '../../src/cli/flags.js';

const spec = {
  interval: { type: 'duration', default: '100ms', min: 10, max: 60_000, shared: true, help: '' },
  device: { type: 'string', repeatable: true, shared: true, help: '' },
  'stat-include': { type: 'regex', repeatable: true, help: '' },
  format: { type: 'string', choices: ['table', 'json'], default: 'table', help: '' },
  verbose: { type: 'boolean', help: '' },
  port: { type: 'int', min: 1, max: 65535, help: '' },
  'test-seed': { type: 'int', default: '1', deprecatedNames: ['seed'], help: '' },
} as const;

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}, warnings: string[] = []) =>
  parseFlags('test', spec, argv, env, { min: 0, max: 1, name: 'FILE' }, (l) => warnings.push(l));

const COMMAND_NAMES = ['serve', 'record', 'analyze', 'simulate', 'rules', 'cloudwatch', 'bench', 'watch'] as const;
const commands = await Promise.all(COMMAND_NAMES.map(async (n) => ((await import(`../../src/commands/${n}.ts`)) as { default: Command }).default));

describe('durations', () => {
  it.each([
    ['100ms', 100],
    ['2s', 2000],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['100', '1d', '-1s', 's', '1 s', '1e3ms', ''])('"%s" is refused', (text) => expect(parseDuration(text)).toBeNull());
});

describe('flags', () => {
  it('applies defaults, and both --flag value and --flag=value', () => {
    const { flags, positionals } = parse(['--device', 'eth0', '--device=eth1', 'trace.jsonl', '--verbose']);
    expect(flags.interval).toBe(100);
    expect(flags.device).toEqual(['eth0', 'eth1']);
    expect(flags.verbose).toBe(true);
    expect(flags.format).toBe('table');
    expect(flags.port).toBeUndefined();
    expect(positionals).toEqual(['trace.jsonl']);
  });

  it('takes ETHBURST_<COMMAND>_* variables, the command line winning over them', () => {
    const env = { ETHBURST_TEST_INTERVAL: '1s', ETHBURST_TEST_DEVICE: 'ens5, ens6', ETHBURST_TEST_STAT_INCLUDE: 'a,b|c', ETHBURST_TEST_FORMAT: 'json' };
    const { flags, explicit } = parse(['--interval', '200ms'], env);
    expect(flags.interval).toBe(200);
    expect(flags.device).toEqual(['ens5', 'ens6']);
    // A regex variable is one pattern: its comma is part of it.
    expect(flags['stat-include'].map(String)).toEqual(['/a,b|c/']);
    expect(flags.format).toBe('json');
    expect([...explicit].sort()).toEqual(['device', 'format', 'interval', 'stat-include']);
  });

  it('reads a shared flag from ETHBURST_<FLAG> too, the command’s own variable winning', () => {
    expect(parse([], { ETHBURST_INTERVAL: '1s' }).flags.interval).toBe(1000);
    expect(parse([], { ETHBURST_INTERVAL: '1s', ETHBURST_TEST_INTERVAL: '2s' }).flags.interval).toBe(2000);
    // An empty variable is unset: the next one in line applies.
    expect(parse([], { ETHBURST_INTERVAL: '1s', ETHBURST_TEST_INTERVAL: '' }).flags.interval).toBe(1000);
    expect(() => parse([], { ETHBURST_INTERVAL: 'soon' })).toThrow(/^ETHBURST_INTERVAL: "soon" is not a duration/);
  });

  it('does not read a command’s own flag from the un-namespaced name, and says which name to use', () => {
    const warnings: string[] = [];
    const { flags } = parse([], { ETHBURST_FORMAT: 'xml', ETHBURST_PORT: 'http' }, warnings);
    expect(flags.format).toBe('table');
    expect(flags.port).toBeUndefined();
    expect(warnings).toEqual([
      'ETHBURST_FORMAT is not read (variables are per command now); use ETHBURST_TEST_FORMAT',
      'ETHBURST_PORT is not read (variables are per command now); use ETHBURST_TEST_PORT',
    ]);
  });

  it('warns about a variable in the command’s namespace that no flag reads (a typo)', () => {
    const warnings: string[] = [];
    const { flags } = parse([], { ETHBURST_TEST_INTERVL: '1s', ETHBURST_TEST_PORT: '80', ETHBURST_OTHER_INTERVL: '1s', ETHBURST_TEST_EMPTY: '' }, warnings);
    expect(flags.port).toBe(80);
    expect(warnings).toEqual(["ETHBURST_TEST_INTERVL is not a variable of test, ignored (see 'ethburst test --help')"]);
  });

  it('prefixes every flag with its command, even one named after the command', () => {
    expect(envName('simulate', 'simulate-seed')).toBe('ETHBURST_SIMULATE_SIMULATE_SEED');
    expect(envName('serve', 'simulate-seed')).toBe('ETHBURST_SERVE_SIMULATE_SEED');
    expect(parse([], { ETHBURST_TEST_TEST_SEED: '7' }).flags['test-seed']).toBe(7);
  });

  it('accepts a deprecated spelling with a one-line warning, and not with the new one too', () => {
    const warnings: string[] = [];
    expect(parse(['--seed', '5'], {}, warnings).flags['test-seed']).toBe(5);
    expect(parse(['--seed=6'], {}, warnings).flags['test-seed']).toBe(6);
    expect(warnings).toEqual(['--seed is deprecated, use --test-seed', '--seed is deprecated, use --test-seed']);
    expect(() => parse(['--seed', '5', '--test-seed', '6'])).toThrow(/--test-seed given more than once/);
    expect(() => parse(['--seed', 'x'])).toThrow(/^--seed: "x" is not a whole number/);
  });

  it.each([
    [['--nope'], /unknown flag --nope/],
    [['--interval'], /--interval needs a value/],
    [['--interval', '1ms'], /out of range \(10ms to 60s\)/],
    [['--format', 'xml'], /"xml" is not one of table, json/],
    [['--port', '70000'], /out of range/],
    [['--port', '1.5'], /not a whole number/],
    [['--interval', '1s', '--interval', '2s'], /given more than once/],
    [['a', 'b'], /unexpected argument "b"/],
    [['-x'], /unknown flag -x/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });

  it('names the variable in errors from the environment', () => {
    expect(() => parse([], { ETHBURST_TEST_PORT: 'http' })).toThrow(/^ETHBURST_TEST_PORT: "http" is not a whole number/);
    expect(() => parse([], { ETHBURST_TEST_FORMAT: 'xml' })).toThrow(/^ETHBURST_TEST_FORMAT: "xml" is not one of table, json/);
  });

  it('-h and --help ask for help wherever they appear', () => {
    expect(() => parse(['--device', 'x', '-h'])).toThrow(HelpRequested);
  });
});

describe('flag names and variables across commands', () => {
  const all = commands.flatMap((c) => Object.entries(c.flags).map(([flag, def]) => ({ command: c.name, flag, def })));

  it('no variable is read by two commands unless it is a shared flag of both', () => {
    const readers = new Map<string, string[]>();
    for (const { command, flag, def } of all) {
      for (const v of envNames(command, flag, def)) readers.set(v, [...(readers.get(v) ?? []), `${command} --${flag}${def.shared ? ' (shared)' : ''}`]);
    }
    for (const [v, who] of readers) {
      if (who.length > 1) expect(who.every((w) => w.endsWith('(shared)')), `${v}: ${who.join(', ')}`).toBe(true);
    }
  });

  it('a flag shared in one command is shared, with the same type, in every command that has it', () => {
    const shared = new Map(all.filter((f) => f.def.shared).map((f) => [f.flag, f.def.type]));
    for (const { command, flag, def } of all) {
      if (shared.has(flag)) expect({ command, flag, shared: def.shared, type: def.type }).toEqual({ command, flag, shared: true, type: shared.get(flag) });
    }
  });

  it('one name per idea: the simulator’s knobs are --simulate-* wherever they appear', () => {
    const names = new Set(all.map((f) => f.flag));
    for (const old of ['devices', 'seed', 'queues', 'simulate']) expect(names.has(old), `--${old}`).toBe(false);
    const byCommand = (c: string) => Object.keys(commands.find((x) => x.name === c)!.flags);
    expect(byCommand('simulate')).toEqual(expect.arrayContaining(['simulate-devices', 'simulate-seed']));
    expect(byCommand('serve')).toEqual(expect.arrayContaining(['simulate-devices', 'simulate-seed']));
    expect(byCommand('bench')).toContain('simulate-devices');
    // No deprecated spelling shadows a current flag of the same command.
    for (const c of commands) for (const def of Object.values(c.flags)) for (const old of def.deprecatedNames ?? []) expect(Object.keys(c.flags)).not.toContain(old);
  });

  it.each(COMMAND_NAMES)('%s --help lists every enum flag’s values and every flag’s variables', (name) => {
    const c = commands.find((x) => x.name === name)!;
    const help = formatFlagHelp(name, c.flags);
    for (const [flag, def] of Object.entries(c.flags)) {
      const line = help.split('\n').find((l) => l.startsWith(`  --${flag} `) || l === `  --${flag}` || l.startsWith(`  --${flag}  `))!;
      expect(line, `--${flag}`).toBeDefined();
      for (const choice of def.choices ?? []) expect(line).toContain(choice);
      for (const v of envNames(name, flag, def)) expect(line).toContain(v);
    }
  });

  it('shows an enum flag’s values in place of its value name', () => {
    const analyze = commands.find((x) => x.name === 'analyze')!;
    expect(formatFlagHelp('analyze', analyze.flags)).toMatch(/^ {2}--format table\|json +table for people.*env ETHBURST_ANALYZE_FORMAT\)$/m);
  });
});
