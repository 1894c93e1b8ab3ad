// A real terminal for `ethburst watch`: a detached tmux session of a fixed
// size, driven with send-keys and read with capture-pane.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TMUX = '/usr/bin/tmux';
export const tmuxMissing = existsSync(TMUX) ? null : `${TMUX} not installed (apt-get install tmux)`;

let counter = 0;

export class TmuxSession {
  readonly name = `ethburst-watch-${process.pid}-${++counter}`;
  private readonly dir = mkdtempSync(join(tmpdir(), 'ethburst-tmux-'));
  /** The command's exit status lands here when it ends. */
  readonly statusFile = join(this.dir, 'status');

  /** Runs `argv` in a 160x50 pane; the pane stays open after the command ends so it can be inspected. */
  constructor(argv: string[], env: Record<string, string> = {}) {
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const exports = Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}' `).join('');
    const script = `${exports}${quoted}; echo $? > '${this.statusFile}'; exec sleep 600`;
    execFileSync(TMUX, ['-L', this.name, 'new-session', '-d', '-s', this.name, '-x', '160', '-y', '50', 'sh', '-c', script]);
  }

  private tmux(args: string[]): string {
    return execFileSync(TMUX, ['-L', this.name, ...args], { encoding: 'utf8' });
  }

  capture(): string {
    return this.tmux(['capture-pane', '-p', '-t', this.name]);
  }

  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.name, ...keys]);
  }

  /** tmux's view of the pane: alternate screen on, cursor visible, its tty. */
  pane(): { alternate: boolean; cursor: boolean; tty: string } {
    const [alt, cursor, tty] = this.tmux(['display-message', '-p', '-t', this.name, '#{alternate_on} #{cursor_flag} #{pane_tty}']).trim().split(' ');
    return { alternate: alt === '1', cursor: cursor === '1', tty: tty! };
  }

  /** The terminal's line discipline: canonical mode and echo are back after raw mode. */
  stty(): string {
    return execFileSync('stty', ['-F', this.pane().tty, '-a'], { encoding: 'utf8' });
  }

  status(): number | null {
    return existsSync(this.statusFile) ? Number(readFileSync(this.statusFile, 'utf8').trim()) : null;
  }

  kill(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      // Already gone.
    }
  }
}
