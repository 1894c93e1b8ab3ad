// Child processes the bench starts (ethburst serve, node_exporter): always
// registered for cleanup, stopped with SIGTERM then SIGKILL, and never left
// behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { Interrupted, cliPath, sleep, type BenchContext } from './context.js';

export interface Child {
  readonly pid: number;
  readonly proc: ChildProcess;
  /** The last 4 KiB of its stderr, for error messages. */
  stderrTail(): string;
  readonly exited: boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnChild(ctx: BenchContext, command: string, args: readonly string[], onStderr?: (text: string) => void): Child {
  const proc = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    tail = (tail + d).slice(-4096);
    onStderr?.(d);
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
  const undo = ctx.cleanup.add(`${command} ${proc.pid ?? '?'}`, () => kill('SIGKILL'));
  return {
    get pid() {
      return proc.pid ?? -1;
    },
    proc,
    stderrTail: () => tail,
    get exited() {
      return exited;
    },
    async stop(graceMs = 3000) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
      undo();
    },
  };
}

/** Starts `ethburst serve` on a free loopback port; resolves once it logs "serving". */
export async function startServe(ctx: BenchContext, args: readonly string[], timeoutMs = 15_000): Promise<{ child: Child; base: string }> {
  let buf = '';
  let found: ((base: string) => void) | null = null;
  const child = spawnChild(ctx, process.execPath, [cliPath(), 'serve', '--listen', '127.0.0.1:0', '--log-format', 'json', ...args], (d) => {
    if (found === null) return;
    buf = (buf + d).slice(-65536);
    const m = /"listen":"127\.0\.0\.1:(\d+)"/.exec(buf);
    if (m) {
      found(`http://127.0.0.1:${m[1]}`);
      found = null;
    }
  });
  // serve logs at info: the "serving" line is info, and burst lines are
  // part of what it costs in production anyway.
  try {
    const base = await new Promise<string>((resolve, reject) => {
      const lastLine = (): string => child.stderrTail().trim().split('\n').pop() ?? '';
      // Every way out removes every listener and the timer, so a failed
      // start leaves nothing holding the event loop.
      const settle = (): void => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        child.proc.off('exit', onExit);
        found = null;
      };
      const fail = (err: Error): void => {
        settle();
        reject(err);
      };
      const onAbort = (): void => fail(new Interrupted());
      const onExit = (code: number | null): void => fail(new Error(`serve exited (${code}) before serving: ${lastLine()}`));
      const timer = setTimeout(() => fail(new Error(`serve did not start within ${timeoutMs} ms: ${lastLine()}`)), timeoutMs);
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      child.proc.once('exit', onExit);
      if (ctx.signal.aborted) onAbort();
      found = (b) => {
        settle();
        resolve(b);
      };
    });
    return { child, base };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

/** A loopback port that was free a moment ago (for programs that need a fixed port). */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Polls `probe` every 100 ms until it returns true or `timeoutMs` passes. */
export async function until(ctx: BenchContext, probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await probe().catch(() => false)) return true;
    await sleep(100, ctx.signal);
  }
  return false;
}
