// `serve --capture-dir DIR`: every burst's capture as one trace file, so it
// outlives the process and its memory budget. Files are written whole (a
// temporary name, then rename), one at a time, off the sampling path; the
// directory is kept under a byte cap by deleting the oldest captures first.
// A full or read-only disk is logged once (and once more when it works
// again) and never stops sampling: the capture stays in memory.

import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { rename, stat, unlink, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { shortStatName } from '../aggregation/stat-policy.js';
import type { Logger } from '../log.js';
import type { Capture } from '../state/flight-recorder.js';

export const DEFAULT_CAPTURE_DIR_MAX_BYTES = 256 * 1024 * 1024;
const PREFIX = 'ethburst-capture-';
const SUFFIX = '.jsonl';

/** Refuses a directory that does not exist or cannot be written (a usage error, exit 2). */
export function checkCaptureDir(dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    throw new UsageError(`--capture-dir ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as NodeJS.ErrnoException).code}`);
  }
  if (!isDir) throw new UsageError(`--capture-dir ${dir}: not a directory`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`--capture-dir ${dir}: not writable (${code === 'EROFS' ? 'read-only file system' : code})`);
  }
}

/** The file name of a capture: sorts by burst start, names the burst. */
export function captureFileName(c: Capture): string {
  const start = new Date(c.burst.startMs).toISOString().replace(/[-:]/g, '').replace('.', '-');
  return `${PREFIX}${start}-${c.burst.device}-${shortStatName(c.burst.stat)}-${c.burst.id}${SUFFIX}`;
}

interface Kept {
  name: string;
  bytes: number;
}

export class CaptureDir {
  /** Files kept, oldest first, and their total size. */
  private readonly files: Kept[] = [];
  bytes = 0;
  written = 0;
  deleted = 0;
  failed = 0;
  private queue: Promise<void> = Promise.resolve();
  private failing: string | null = null;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly log: Logger,
  ) {
    // Captures from an earlier run count against the cap, oldest first.
    const found: (Kept & { mtimeMs: number })[] = [];
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(PREFIX) || !name.endsWith(SUFFIX)) continue;
      try {
        const s = statSync(join(dir, name));
        if (s.isFile()) found.push({ name, bytes: s.size, mtimeMs: s.mtimeMs });
      } catch {
        // Gone meanwhile.
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : 1));
    for (const f of found) this.files.push({ name: f.name, bytes: f.bytes });
    this.bytes = found.reduce((n, f) => n + f.bytes, 0);
  }

  /** Queues a capture for writing; resolves when it is written or has failed (never rejects). */
  write(c: Capture): Promise<void> {
    this.queue = this.queue.then(() => this.writeNow(c));
    return this.queue;
  }

  /** Resolves when everything queued so far is done. */
  idle(): Promise<void> {
    return this.queue;
  }

  private async writeNow(c: Capture): Promise<void> {
    const name = captureFileName(c);
    const path = join(this.dir, name);
    const tmp = join(this.dir, `.${name}.tmp`);
    const text = c.text();
    try {
      await writeFile(tmp, text, { mode: 0o644 });
      await rename(tmp, path);
    } catch (err) {
      this.failed++;
      await unlink(tmp).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      if (this.failing !== code) {
        this.failing = code;
        this.log.log('error', 'cannot write burst captures; they stay in memory only', { dir: this.dir, error: code, burst: c.burst.id });
      }
      return;
    }
    if (this.failing !== null) {
      this.log.log('info', 'writing burst captures again', { dir: this.dir });
      this.failing = null;
    }
    const bytes = Buffer.byteLength(text);
    this.files.push({ name, bytes });
    this.bytes += bytes;
    this.written++;
    await this.trim();
  }

  /** Deletes the oldest captures until the directory fits the cap (the newest always stays). */
  private async trim(): Promise<void> {
    while (this.bytes > this.maxBytes && this.files.length > 1) {
      const old = this.files.shift()!;
      this.bytes -= old.bytes;
      try {
        await unlink(join(this.dir, old.name));
        this.deleted++;
      } catch (err) {
        // Removed by someone else: it no longer counts either way.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.log('warn', 'cannot delete an old burst capture', { file: old.name, error: (err as NodeJS.ErrnoException).code });
      }
    }
  }
}

/** Files of this kind in a directory (for tests and the runbook's check). */
export async function listCaptureFiles(dir: string): Promise<{ name: string; bytes: number }[]> {
  const out: { name: string; bytes: number }[] = [];
  for (const name of await readdir(dir)) {
    if (name.startsWith(PREFIX) && name.endsWith(SUFFIX)) out.push({ name, bytes: (await stat(join(dir, name))).size });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}
