import type { FlagSpec, FlagValues, PositionalSpec } from './flags.js';

/** A subcommand of the `ethburst` CLI. One file per command under src/commands/. */
export interface Command<S extends FlagSpec = FlagSpec> {
  readonly name: string;
  /** One line for `ethburst --help`. */
  readonly summary: string;
  /** Usage line after "ethburst NAME", e.g. "FILE [flags]". */
  readonly usage: string;
  readonly flags: S;
  readonly positionals?: PositionalSpec;
  /** Returns the exit code. Throw UsageError/InputError for bad input. */
  run(flags: FlagValues<S>, positionals: string[], io: CommandIO): Promise<number>;
}

/** Where a command reads and writes, injectable so tests need no child process. */
export interface CommandIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM/SIGHUP. */
  readonly signal: AbortSignal;
}

export function defineCommand<const S extends FlagSpec>(c: Command<S>): Command<S> {
  return c;
}
