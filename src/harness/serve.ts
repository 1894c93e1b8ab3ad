// `ethburst serve` as a child process on an ephemeral loopback port, found
// the way a user finds it: from its "serving" log line.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnChild, type Child, type CleanupRegistry } from './children.js';

/**
 * The compiled CLI. From build/dist/src/harness it is ../cli.js; from the
 * TypeScript sources (vitest) it is the build.
 */
export function cliPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, '..', 'cli.js');
  if (existsSync(sibling)) return sibling;
  let dir = here;
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'build', 'dist', 'src', 'cli.js');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error("the compiled CLI is missing (run 'npm run build:ts')");
}

export interface ServeOptions {
  cleanup?: CleanupRegistry;
  /** Aborting stops the wait for "serving" (and the child). */
  signal?: AbortSignal;
  /** Added to process.env. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  onStdout?: (text: string) => void;
  /** Every chunk of its stderr (the JSON log), from the first. */
  onStderr?: (text: string) => void;
}

/**
 * Starts `ethburst serve --listen 127.0.0.1:0 --log-format json ARGS`;
 * resolves once it logs "serving", with the address it logged. On any
 * failure to start, the child is stopped before the error is thrown.
 */
export async function startServe(args: readonly string[], opts: ServeOptions = {}): Promise<{ child: Child; base: string }> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  let buf = '';
  let found: ((base: string) => void) | null = null;
  const child = spawnChild(process.execPath, [cliPath(), 'serve', '--listen', '127.0.0.1:0', '--log-format', 'json', ...args], {
    ...(opts.cleanup ? { cleanup: opts.cleanup } : {}),
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    ...(opts.onStdout ? { onStdout: opts.onStdout } : {}),
    onStderr: (d) => {
      opts.onStderr?.(d);
      if (found === null) return;
      buf = (buf + d).slice(-65536);
      const m = /"msg":"serving","listen":"127\.0\.0\.1:(\d+)"/.exec(buf);
      if (m) found(`http://127.0.0.1:${m[1]}`);
    },
  });
  const signal = opts.signal;
  try {
    const base = await new Promise<string>((resolve, reject) => {
      const lastLine = (): string => child.outputTail().trim().split('\n').pop() ?? '';
      // Every way out removes every listener and the timer, so a failed
      // start leaves nothing holding the event loop.
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        child.proc.off('exit', onExit);
        found = null;
      };
      const fail = (err: Error): void => {
        settle();
        reject(err);
      };
      const onAbort = (): void => fail(new Error('interrupted while serve was starting'));
      const onExit = (code: number | null): void => fail(new Error(`serve exited (${code}) before serving: ${lastLine()}`));
      const timer = setTimeout(() => fail(new Error(`serve did not start within ${timeoutMs} ms: ${lastLine()}`)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      child.proc.once('exit', onExit);
      if (signal?.aborted) onAbort();
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
