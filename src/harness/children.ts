// Child processes the benchmark and the tests start (ethburst serve,
// node_exporter, Prometheus, Alertmanager): stopped with SIGTERM then
// SIGKILL, registered with a cleanup registry when one is given, and never
// left behind.

import { spawn, type ChildProcess } from 'node:child_process';

/** Where a child registers its SIGKILL so every way out undoes it (the bench's Cleanup). */
export interface CleanupRegistry {
  /** Registers a synchronous undo; returns a function that runs it now (once) and unregisters it. */
  add(name: string, run: () => void): () => void;
}

export interface SpawnOptions {
  cleanup?: CleanupRegistry;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How much of its output to keep for error messages (default 4 KiB). */
  tailBytes?: number;
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
}

export interface Child {
  readonly pid: number;
  readonly proc: ChildProcess;
  /** The last `tailBytes` of its stdout and stderr, for error messages. */
  outputTail(): string;
  readonly exited: boolean;
  /** Resolves once it has exited (or failed to start). */
  readonly exit: Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnChild(command: string, args: readonly string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
  const tailBytes = opts.tailBytes ?? 4096;
  let tail = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      exited = true;
      resolve();
    });
    proc.once('error', () => {
      exited = true;
      resolve();
    });
  });
  const keep = (d: string): void => {
    tail = (tail + d).slice(-tailBytes);
  };
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    keep(d);
    opts.onStdout?.(d);
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    keep(d);
    opts.onStderr?.(d);
  });
  const kill = (sig: NodeJS.Signals): void => {
    if (!exited && proc.pid !== undefined) {
      try {
        process.kill(proc.pid, sig);
      } catch {
        // Already gone.
      }
    }
  };
  const undo = opts.cleanup?.add(`${command} ${proc.pid ?? '?'}`, () => kill('SIGKILL'));
  return {
    get pid() {
      return proc.pid ?? -1;
    },
    proc,
    outputTail: () => tail,
    get exited() {
      return exited;
    },
    exit,
    async stop(graceMs = 3000) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
      undo?.();
    },
  };
}
