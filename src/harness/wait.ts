// Polling: for a child to answer, a query to return, a file to appear.
// Generous deadlines, never a timing assertion.

import { setTimeout as delay } from 'node:timers/promises';

export interface UntilOptions {
  /** Between two checks (default 100 ms). */
  everyMs?: number;
  /** Stops the wait with an error as soon as it aborts. */
  signal?: AbortSignal;
}

/**
 * Polls `check` until it returns something other than undefined, null or
 * false, and resolves with that; throws after `timeoutMs`, naming `what`
 * and the last error `check` threw.
 */
export async function until<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 20_000,
  opts: UntilOptions = {},
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const v = await check();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
    await delay(opts.everyMs ?? 100, undefined, opts.signal ? { signal: opts.signal } : {});
  }
}
