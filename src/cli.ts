#!/usr/bin/env node
// The `ethburst` command line: one binary, subcommands under src/commands/.
// Every failure a user can cause ends as one line on stderr and an exit
// code (2 for usage and input errors); stacks appear only with
// ETHBURST_DEBUG=1.

import { realpathSync } from 'node:fs';
import type { Command, CommandIO } from './cli/command.js';
import { InputError, UsageError, oneLine } from './errors.js';
import { HelpRequested, formatFlagHelp, parseFlags } from './cli/flags.js';
import { version } from './version.js';

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve.js')).default,
  record: async () => (await import('./commands/record.js')).default,
  analyze: async () => (await import('./commands/analyze.js')).default,
  simulate: async () => (await import('./commands/simulate.js')).default,
  rules: async () => (await import('./commands/rules.js')).default,
  cloudwatch: async () => (await import('./commands/cloudwatch.js')).default,
  bench: async () => (await import('./commands/bench.js')).default,
  watch: async () => (await import('./commands/watch.js')).default,
};

const SUMMARIES: Record<string, string> = {
  serve: 'sample NICs every 100 ms and serve Prometheus metrics (the default job)',
  record: 'sample NICs and write a JSON Lines trace',
  analyze: 'find bursts in a recorded trace',
  simulate: 'write a trace of simulated ENA devices with known bursts',
  rules: 'print the Prometheus recording and alerting rules (plain, PrometheusRule, AMP)',
  cloudwatch: 'print the CloudWatch template (log group, alarms, dashboard) and agent configs for serve --emf',
  bench: 'measure cost, cadence, scrape latency and fidelity against the alternatives',
  watch: 'live terminal view of per-tick increases, from a server or sampled locally',
};

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const rows = Object.keys(COMMANDS).map((n) => `  ${n.padEnd(width)}  ${SUMMARIES[n] ?? ''}`);
  return `usage: ethburst COMMAND [flags]\n\ncommands:\n${rows.join('\n')}\n\nRun 'ethburst COMMAND --help' for a command's flags, 'ethburst --version' for the version.\n`;
}

export async function main(argv: readonly string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    io.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout.write(`ethburst ${version()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`ethburst: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  let command: Command;
  try {
    command = await load();
  } catch (err) {
    io.stderr.write(`ethburst ${name}: cannot load: ${oneLine(err)}\n`);
    return 1;
  }
  try {
    const warn = (line: string): void => void io.stderr.write(`ethburst ${name}: warning: ${line}\n`);
    const parsed = parseFlags(name, command.flags, rest, io.env, command.positionals, warn);
    return await command.run(parsed.flags, parsed.positionals, io);
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.stdout.write(`usage: ethburst ${name} ${command.usage}\n\n${command.summary}\n\nflags:\n${formatFlagHelp(name, command.flags)}\n`);
      return 0;
    }
    if (err instanceof UsageError || err instanceof InputError) {
      io.stderr.write(`ethburst ${name}: ${oneLine(err)}\n`);
      return 2;
    }
    io.stderr.write(`ethburst ${name}: ${oneLine(err)}\n`);
    if (io.env['ETHBURST_DEBUG']) io.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    // Resolve symlinks (npm's .bin links) before comparing.
    return import.meta.url === new URL(`file://${realpathSync(entry)}`).href;
  } catch {
    return false;
  }
}


if (isEntryPoint()) {
  const controller = new AbortController();
  let signals = 0;
  const exitCodes: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    // A second signal means "now": the user is not waiting for a flush.
    if (signals > 1) process.exit(exitCodes[sig] ?? 1);
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed terminal or ssh session stops a foreground `record` or `serve`
  // cleanly too, instead of killing it mid-line with nothing flushed.
  process.on('SIGHUP', onSignal);
  // A closed pipe (`ethburst record | head`) is not an error worth a stack.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') controller.abort('EPIPE');
  });
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`ethburst: ${oneLine(err)}\n`);
      process.exitCode = 1;
    },
  );
}
