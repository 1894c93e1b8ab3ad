// One flag parser for every subcommand. Each flag can also come from an
// environment variable, because DaemonSets configure by env. The variable is
// named after the command as well as the flag (ETHBURST_SERVE_LISTEN,
// ETHBURST_ANALYZE_FORMAT): one shell or unit file can configure several
// commands without a value meant for one breaking another (ETHBURST_FORMAT=json
// used to reach `rules`, whose --format has other choices). Only flags marked
// `shared` (device selection and the sampling interval, the same meaning in
// every command that has them) are also read un-namespaced (ETHBURST_DEVICE).
// Precedence: command line, ETHBURST_<COMMAND>_<FLAG>, ETHBURST_<FLAG> for
// shared flags, then the default.

import { formatDuration, parseDuration } from './duration.js';
import { UsageError } from '../errors.js';

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
  /**
   * Same meaning in every command that declares it, so the un-namespaced
   * ETHBURST_<FLAG> is read too (after ETHBURST_<COMMAND>_<FLAG>).
   */
  readonly shared?: boolean;
  /** Former spellings, still accepted on the command line with a one-line warning. */
  readonly deprecatedNames?: readonly string[];
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

const upper = (s: string): string => s.toUpperCase().replace(/-/g, '_');

/**
 * The command's own variable for a flag: ETHBURST_<COMMAND>_<FLAG>, without
 * exceptions (simulate --simulate-seed is ETHBURST_SIMULATE_SIMULATE_SEED):
 * shortening it would make it serve's 0.1.0 name for --simulate-seed.
 */
export function envName(command: string, flag: string): string {
  return `ETHBURST_${upper(command)}_${upper(flag)}`;
}

/** The un-namespaced variable: read only for `shared` flags; 0.1.0 read it for every flag. */
export function sharedEnvName(flag: string): string {
  return `ETHBURST_${upper(flag)}`;
}

/** Every variable a command reads for a flag, the one that wins first. */
export function envNames(command: string, flag: string, def: FlagDef): string[] {
  return def.shared ? [envName(command, flag), sharedEnvName(flag)] : [envName(command, flag)];
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

/** Warnings (a deprecated spelling, an ignored variable) when the caller gives no sink: stderr, one line each, prefixed like the CLI's errors. */
function stderrWarning(command: string): (line: string) => void {
  return (line) => void process.stderr.write(`ethburst ${command}: warning: ${line}\n`);
}

export function parseFlags<const S extends FlagSpec>(
  command: string,
  spec: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  positionalSpec: PositionalSpec = { min: 0, max: 0, name: '' },
  warn: (line: string) => void = stderrWarning(command),
): Parsed<S> {
  const values: Record<string, unknown> = {};
  const fromCli = new Map<string, unknown[]>();
  const positionals: string[] = [];
  const explicit = new Set<string>();
  const renamed = new Map<string, string>();
  for (const [name, def] of Object.entries(spec)) for (const old of def.deprecatedNames ?? []) renamed.set(old, name);

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
    const typed = arg.slice(2, eq === -1 ? undefined : eq);
    const name = spec[typed] ? typed : (renamed.get(typed) ?? typed);
    const def = spec[name];
    if (!def) throw new UsageError(`unknown flag --${typed} (see 'ethburst ${command} --help')`);
    if (name !== typed) warn(`--${typed} is deprecated, use --${name}`);
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (def.type === 'boolean') raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${typed} needs a value`);
      raw = next;
      i++;
    }
    const value = convert(name, def, raw, `--${typed}`);
    const list = fromCli.get(name) ?? [];
    if (list.length > 0 && !def.repeatable) throw new UsageError(`--${name} given more than once`);
    list.push(value);
    fromCli.set(name, list);
  }

  for (const [name, def] of Object.entries(spec)) {
    const cli = fromCli.get(name);
    const where = envNames(command, name, def).find((n) => (env[n] ?? '') !== '');
    // 0.1.0's un-namespaced name is not read for a command's own flags
    // (that is the collision this scheme removes), but silence would leave
    // an old unit file quietly on defaults: say which name to use.
    const legacy = sharedEnvName(name);
    if (!def.shared && (env[legacy] ?? '') !== '') {
      warn(`${legacy} is not read (variables are per command now); use ${envName(command, name)}`);
    }
    if (cli) {
      values[name] = def.repeatable ? cli : cli[0];
      explicit.add(name);
    } else if (where !== undefined) {
      const envRaw = env[where]!;
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

  // A misspelt variable (ETHBURST_SERVE_LISTN) would otherwise be ignored
  // without a word, leaving a unit file on defaults.
  const known = new Set(Object.entries(spec).flatMap(([name, def]) => envNames(command, name, def)));
  const prefix = `ETHBURST_${upper(command)}_`;
  for (const [variable, value] of Object.entries(env)) {
    if (variable.startsWith(prefix) && !known.has(variable) && (value ?? '') !== '') {
      warn(`${variable} is not a variable of ${command}, ignored (see 'ethburst ${command} --help')`);
    }
  }

  if (positionals.length < positionalSpec.min) {
    throw new UsageError(`missing ${positionalSpec.name} (see 'ethburst ${command} --help')`);
  }
  if (positionals.length > positionalSpec.max) {
    throw new UsageError(`unexpected argument "${positionals[positionalSpec.max]}" (see 'ethburst ${command} --help')`);
  }
  return { flags: values as FlagValues<S>, positionals, explicit };
}

/**
 * Help text for a command's flags, one per line: the allowed values of an
 * enum flag in place of its value name, then default and the variables.
 */
export function formatFlagHelp(command: string, spec: FlagSpec): string {
  const rows = Object.entries(spec).map(([name, def]) => {
    const value = def.type === 'boolean' ? '' : ` ${def.valueName ?? def.choices?.join('|') ?? def.type.toUpperCase()}`;
    const extras = [
      def.valueName !== undefined && def.choices ? `one of ${def.choices.join(', ')}` : '',
      def.repeatable ? 'repeatable' : '',
      def.default !== undefined ? `default ${def.default}` : '',
      `env ${envNames(command, name, def).join(' or ')}`,
    ].filter(Boolean);
    return [`  --${name}${value}`, `${def.help} (${extras.join('; ')})`] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length), 0) + 2;
  return rows.map(([l, r]) => l.padEnd(width) + r).join('\n');
}
