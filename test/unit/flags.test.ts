import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/duration.js';
import { UsageError } from '../../src/errors.js';
import { HelpRequested, parseFlags } from '../../src/flags.js';

const spec = {
  interval: { type: 'duration', default: '100ms', min: 10, max: 60_000, help: '' },
  device: { type: 'string', repeatable: true, help: '' },
  'stat-include': { type: 'regex', repeatable: true, help: '' },
  format: { type: 'string', choices: ['table', 'json'], default: 'table', help: '' },
  verbose: { type: 'boolean', help: '' },
  port: { type: 'int', min: 1, max: 65535, help: '' },
} as const;

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseFlags('test', spec, argv, env, { min: 0, max: 1, name: 'FILE' });

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

  it('takes ETHBURST_* variables, the command line winning over them', () => {
    const env = { ETHBURST_INTERVAL: '1s', ETHBURST_DEVICE: 'ens5, ens6', ETHBURST_STAT_INCLUDE: 'a,b|c' };
    const { flags } = parse(['--interval', '200ms'], env);
    expect(flags.interval).toBe(200);
    expect(flags.device).toEqual(['ens5', 'ens6']);
    // A regex variable is one pattern: its comma is part of it.
    expect(flags['stat-include'].map(String)).toEqual(['/a,b|c/']);
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
    expect(() => parse([], { ETHBURST_PORT: 'http' })).toThrow(/^ETHBURST_PORT: "http" is not a whole number/);
  });

  it('-h and --help ask for help wherever they appear', () => {
    expect(() => parse(['--device', 'x', '-h'])).toThrow(HelpRequested);
  });
});
