// Structured logging to stderr: text for people at a terminal, JSON (one
// object per line) for log pipelines. Each line is one event.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
}

export function createLogger(opts: { format?: LogFormat; level?: LogLevel; out?: NodeJS.WritableStream; now?: () => number } = {}): Logger {
  const format = opts.format ?? 'text';
  const min = RANK[opts.level ?? 'info'];
  const out = opts.out ?? process.stderr;
  const now = opts.now ?? Date.now;
  return {
    enabled: (level) => RANK[level] >= min,
    log(level, msg, fields = {}) {
      if (RANK[level] < min) return;
      const time = new Date(now()).toISOString();
      if (format === 'json') {
        out.write(`${JSON.stringify({ time, level, msg, ...fields })}\n`);
        return;
      }
      const kv = Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(v) : String(v)}`)
        .join(' ');
      out.write(`${time} ${level.toUpperCase().padEnd(5)} ${msg}${kv ? ` ${kv}` : ''}\n`);
    },
  };
}

/** A logger that drops everything (tests, and commands whose stderr is for errors only). */
export const silentLogger: Logger = { log() {}, enabled: () => false };

/**
 * When to log a failure that repeats (a device read, an API call): once per
 * kind (an errno, an error code), and once when it works again, so a
 * failing neighbour fills no log and its recovery is still said.
 */
export class FailureReport {
  private kind: string | number | null = null;

  /** True when `kind` is not the failure last said: log it now. */
  failed(kind: string | number): boolean {
    if (this.kind === kind) return false;
    this.kind = kind;
    return true;
  }

  /** True when a failure was said and this is the first success since: log the recovery now. */
  recovered(): boolean {
    if (this.kind === null) return false;
    this.kind = null;
    return true;
  }
}
