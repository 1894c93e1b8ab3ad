// Writes a long output to a stream in large chunks, waiting for each write to
// be accepted, so a slow reader bounds memory (no unbounded buffering inside
// the stream) and a failed write (EPIPE, ENOSPC on /dev/full, a closed
// terminal) rejects instead of being lost: a command must never exit 0 after
// part of its output vanished.

const CHUNK_CHARS = 64 * 1024;

export class StreamWriter {
  private readonly stream: NodeJS.WritableStream;
  private pending = '';
  private failed: Error | null = null;
  private readonly onError = (err: Error): void => {
    this.failed ??= err;
  };

  constructor(stream: NodeJS.WritableStream) {
    this.stream = stream;
    // Without a listener an 'error' event would crash the process.
    stream.on('error', this.onError);
  }

  /** Queues text; true when a chunk is due and the caller should await flush(). */
  write(text: string): boolean {
    this.pending += text;
    return this.pending.length >= CHUNK_CHARS;
  }

  /** Writes everything queued; rejects with the stream's error. */
  async flush(): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.pending === '') return;
    const chunk = this.pending;
    this.pending = '';
    await new Promise<void>((resolve, reject) => {
      this.stream.write(chunk, (err?: Error | null) => (err ? reject(err) : resolve()));
    }).catch((err: Error) => {
      this.failed ??= err;
      throw this.failed;
    });
  }

  /** Flushes and stops listening; rejects if any write failed. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.stream.removeListener('error', this.onError);
    }
  }
}
