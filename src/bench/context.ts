// What every measurement gets: the mode, the abort signal, a progress line
// writer, and one cleanup registry. Whatever a measurement starts (a child
// process, a namespace) is registered here the moment it exists, so it is
// undone on every way out: normal end, error, SIGINT/SIGTERM (the abort
// signal), and a second signal that makes the CLI call process.exit (the
// synchronous 'exit' hook).

import { setTimeout as delay } from 'node:timers/promises';

export interface BenchContext {
  readonly quick: boolean;
  readonly signal: AbortSignal;
  readonly cleanup: Cleanup;
  /** One progress line on stderr (stdout carries only the table). */
  progress(msg: string): void;
}

interface Undo {
  readonly name: string;
  /** Must be synchronous: it may run inside process.on('exit'). */
  readonly run: () => void;
}

export class Cleanup {
  private undos: Undo[] = [];
  private readonly onExit = (): void => this.runAll();

  /** Installs the exit hook; call uninstall() when done. */
  install(): void {
    process.on('exit', this.onExit);
  }

  uninstall(): void {
    process.off('exit', this.onExit);
  }

  /** Registers an undo; returns a function that runs it now (once) and unregisters it. */
  add(name: string, run: () => void): () => void {
    const undo: Undo = { name, run };
    this.undos.push(undo);
    return () => {
      const i = this.undos.indexOf(undo);
      if (i === -1) return;
      this.undos.splice(i, 1);
      safely(run);
    };
  }

  /** Runs every pending undo, newest first. */
  runAll(): void {
    const list = this.undos.reverse();
    this.undos = [];
    for (const u of list) safely(u.run);
  }

  get pending(): number {
    return this.undos.length;
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Cleanup goes on: one failed undo must not leak the others.
  }
}

/** Sleeps, or rejects with the abort reason as soon as the run is interrupted. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw new Interrupted();
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw new Interrupted();
  }
}

export function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Interrupted();
}

/** Thrown through the measurements when SIGINT/SIGTERM arrives. */
export class Interrupted extends Error {
  override name = 'Interrupted';
  constructor() {
    super('interrupted');
  }
}

/** A measurement or comparison that did not run, and why. */
export interface Skipped {
  status: 'skipped';
  reason: string;
}

export function skip(reason: string): Skipped {
  return { status: 'skipped', reason };
}

export function isSkipped(x: { status: string }): x is Skipped {
  return x.status === 'skipped';
}
