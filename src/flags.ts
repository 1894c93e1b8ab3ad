// One flag parser for every subcommand. Each flag can also come from an
// ETHBURST_<NAME> environment variable, because DaemonSets configure by env.
// Precedence: command line, then environment, then the default.

import { formatDuration, parseDuration } from './duration.js';
import { UsageError } from './errors.js';

export type FlagType = 'string' | 'boolean' | 'duration' | 'regex' | 'int';

export interface FlagDef {
  readonly type: FlagType;
  readonly help: string;
  /** May be given more than once; the values collect into an array. */
  readonly repeatable?: boolean;
  /** Default as it would be typed ("100ms", "9879"); parsed like user input. */
  readonly default?: string;
  /** Bounds for 'duration' (in ms) and 'int'. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values for 'string'. */
  readonly choices?: readonly string[];
  /** Placeholder in help text. */
  readonly valueName?: string;
  /** For 'string': why the value is unacceptable, or null when it is fine. */
  readonly check?: (value: string) => string | null;
}

export type FlagSpec = Readonly<Record<string, FlagDef>>;

type Scalar<D extends FlagDef> = D['type'] extends 'boolean'
  ? boolean
  : D['type'] extends 'duration' | 'int'
    ? number
    : D['type'] extends 'regex'
      ? RegExp
      : string;

type ValueOf<D extends FlagDef> = D['repeatable'] extends true
  ? Scalar<D>[]
  : D['type'] extends 'boolean'
    ? boolean
    : D extends { default: string }
      ? Scalar<D>
      : Scalar<D> | undefined;

export type FlagValues<S extends FlagSpec> = { -readonly [K in keyof S]: ValueOf<S[K]> };

export interface Parsed<S extends FlagSpec> {
  flags: FlagValues<S>;
  positionals: string[];
  /** Which flags the user set (command line or environment), for "explicit" checks. */
  explicit: Set<keyof S & string>;
}

/** Thrown for -h/--help; the CLI prints the text and exits 0. */
export class HelpRequested extends Error {
  override name = 'HelpRequested';
}

export function envName(flag: string): string {
  return `ETHBURST_${flag.toUpperCase().replace(/-/g, '_')}`;
}

function convert(name: string, def: FlagDef, raw: string, where: string): number | string | RegExp | boolean {
  switch (def.type) {
    case 'boolean': {
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off|)$/i.test(raw)) return false;
      throw new UsageError(`${where}: "${raw}" is not a boolean (use true or false)`);
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === null) throw new UsageError(`${where}: "${raw}" is not a duration (use e.g. 100ms, 2s, 1m, 1h)`);
      if ((def.min !== undefined && ms < def.min) || (def.max !== undefined && ms > def.max)) {
        throw new UsageError(`${where}: ${raw} is out of range (${formatDuration(def.min ?? 0)} to ${def.max === undefined ? 'any' : formatDuration(def.max)})`);
      }
      return ms;
    }
    case 'int': {
      if (!/^-?[0-9]+$/.test(raw)) throw new UsageError(`${where}: "${raw}" is not a whole number`);
      const n = Number(raw);
      if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max) || !Number.isSafeInteger(n)) {
        throw new UsageError(`${where}: ${raw} is out of range (${def.min ?? '-∞'} to ${def.max ?? '∞'})`);
      }
      return n;
    }
    case 'regex': {
      try {
        return new RegExp(raw);
      } catch (err) {
        throw new UsageError(`${where}: "${raw}" is not a valid regular expression (${(err as Error).message})`);
      }
    }
    case 'string': {
      if (def.choices && !def.choices.includes(raw)) {
        throw new UsageError(`${where}: "${raw}" is not one of ${def.choices.join(', ')}`);
      }
      if (raw === '') throw new UsageError(`${where}: must not be empty`);
      const problem = def.check?.(raw);
      if (problem) throw new UsageError(`${where}: ${problem}`);
      return raw;
    }
  }
  throw new UsageError(`${where}: unsupported flag type for ${name}`);
}

export interface PositionalSpec {
  readonly min: number;
  readonly max: number;
  /** e.g. "FILE", for messages. */
  readonly name: string;
}

export function parseFlags<const S extends FlagSpec>(
  command: string,
  spec: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  positionalSpec: PositionalSpec = { min: 0, max: 0, name: '' },
): Parsed<S> {
  const values: Record<string, unknown> = {};
  const fromCli = new Map<string, unknown[]>();
  const positionals: string[] = [];
  const explicit = new Set<string>();

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') throw new HelpRequested(command);
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown flag ${arg} (see 'ethburst ${command} --help')`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const def = spec[name];
    if (!def) throw new UsageError(`unknown flag --${name} (see 'ethburst ${command} --help')`);
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (def.type === 'boolean') raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      raw = next;
      i++;
    }
    const value = convert(name, def, raw, `--${name}`);
    const list = fromCli.get(name) ?? [];
    if (list.length > 0 && !def.repeatable) throw new UsageError(`--${name} given more than once`);
    list.push(value);
    fromCli.set(name, list);
  }

  for (const [name, def] of Object.entries(spec)) {
    const cli = fromCli.get(name);
    const envRaw = env[envName(name)];
    if (cli) {
      values[name] = def.repeatable ? cli : cli[0];
      explicit.add(name);
    } else if (envRaw !== undefined && envRaw !== '') {
      const where = envName(name);
      // Repeatable values in one variable are comma-separated, except
      // regexes, where a comma may be part of the pattern (use | instead).
      const parts = def.repeatable && def.type !== 'regex' ? envRaw.split(',').map((s) => s.trim()).filter((s) => s !== '') : [envRaw];
      const converted = parts.map((p) => convert(name, def, p, where));
      values[name] = def.repeatable ? converted : converted[0];
      explicit.add(name);
    } else if (def.default !== undefined) {
      const v = convert(name, def, def.default, `default of --${name}`);
      values[name] = def.repeatable ? [v] : v;
    } else {
      values[name] = def.repeatable ? [] : def.type === 'boolean' ? false : undefined;
    }
  }

  if (positionals.length < positionalSpec.min) {
    throw new UsageError(`missing ${positionalSpec.name} (see 'ethburst ${command} --help')`);
  }
  if (positionals.length > positionalSpec.max) {
    throw new UsageError(`unexpected argument "${positionals[positionalSpec.max]}" (see 'ethburst ${command} --help')`);
  }
  return { flags: values as FlagValues<S>, positionals, explicit: explicit as Set<keyof S & string> };
}

/** Help text for a command's flags, one per line, with env names and defaults. */
export function formatFlagHelp(spec: FlagSpec): string {
  const rows = Object.entries(spec).map(([name, def]) => {
    const value = def.type === 'boolean' ? '' : ` ${def.valueName ?? def.type.toUpperCase()}`;
    const extras = [def.repeatable ? 'repeatable' : '', def.default !== undefined ? `default ${def.default}` : '', envName(name)].filter(Boolean);
    return [`  --${name}${value}`, `${def.help} (${extras.join('; ')})`] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length), 0) + 2;
  return rows.map(([l, r]) => l.padEnd(width) + r).join('\n');
}
