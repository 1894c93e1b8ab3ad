// The terminal side of `ethburst watch`: alternate screen, hidden cursor,
// raw keys, and putting all of it back. Restoring is idempotent and is also
// hooked to process exit, so an exception anywhere still leaves the shell
// usable (raw mode off, cursor shown, main screen back).

import type { ReadStream, WriteStream } from 'node:tty';

const ENTER = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J';
const LEAVE = '\x1b[?25h\x1b[?1049l';

export class Screen {
  private active = false;
  private readonly restoreOnExit = (): void => this.leave();
  private keyHandler: ((data: Buffer) => void) | null = null;

  constructor(
    private readonly out: WriteStream,
    private readonly input: ReadStream | null,
  ) {}

  get size(): { width: number; height: number } {
    return { width: this.out.columns || 80, height: this.out.rows || 24 };
  }

  /** Enters the alternate screen and reads keys; `onQuit` gets q, Q, Ctrl-C and Ctrl-D. */
  enter(onQuit: () => void, onResize: () => void): void {
    if (this.active) return;
    this.active = true;
    process.once('exit', this.restoreOnExit);
    this.out.write(ENTER);
    this.out.on('resize', onResize);
    this.resizeHandler = onResize;
    if (this.input?.isTTY) {
      this.input.setRawMode(true);
      this.keyHandler = (data: Buffer) => {
        // Raw mode: Ctrl-C is a byte (0x03), not SIGINT.
        if (data.includes(0x71) || data.includes(0x51) || data.includes(0x03) || data.includes(0x04)) onQuit();
      };
      this.input.on('data', this.keyHandler);
      this.input.resume();
    }
  }

  private resizeHandler: (() => void) | null = null;

  /** Redraws in place: home, each line cleared to its end, the rest of the screen cleared. */
  draw(lines: readonly string[]): void {
    if (!this.active) return;
    this.out.write(`\x1b[H${lines.map((l) => `${l}\x1b[K`).join('\r\n')}\x1b[J`);
  }

  leave(): void {
    if (!this.active) return;
    this.active = false;
    process.off('exit', this.restoreOnExit);
    if (this.resizeHandler) this.out.off('resize', this.resizeHandler);
    if (this.input?.isTTY) {
      if (this.keyHandler) this.input.off('data', this.keyHandler);
      try {
        this.input.setRawMode(false);
      } catch {
        // The terminal may already be gone (hang-up); nothing left to restore.
      }
      this.input.pause();
    }
    this.out.write(LEAVE);
  }
}
