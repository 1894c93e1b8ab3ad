// Timers that wake the event loop anyway report how late they ran, so that
// measuring event-loop lag (src/export/metrics/event-loop.ts) costs no
// wake-up of its own while one runs: on the development VM each wake-up is
// 0.3-0.5 ms of CPU, and one a second is 0.04 % of a core (`perf stat` of a
// bare Node timer), the whole budget of an exporter with nothing to sample.

/** A periodic timer's report of how late it ran. */
export interface LagHost {
  /** How late the timer ran this time, ms. */
  late(ms: number): void;
  close(): void;
}

/** What measures lag: takes hosts' readings, and runs its own timer only while no host is open. */
export interface LagMonitor {
  record(ms: number): void;
  /** A host opened: stop the own timer. */
  pause(): void;
  /** The last host closed: start the own timer. */
  resume(): void;
}

const monitors = new Set<LagMonitor>();
let hosts = 0;

/** Opens a host: while any is open, monitors record its readings instead of waking the loop themselves. */
export function lagHost(): LagHost {
  if (hosts++ === 0) for (const m of monitors) m.pause();
  let open = true;
  return {
    late(ms) {
      for (const m of monitors) m.record(Math.max(0, ms));
    },
    close() {
      if (!open) return;
      open = false;
      if (--hosts === 0) for (const m of monitors) m.resume();
    },
  };
}

/** Adds a monitor; it is told to resume at once when no host is open. */
export function addLagMonitor(m: LagMonitor): void {
  monitors.add(m);
  if (hosts === 0) m.resume();
}

export function removeLagMonitor(m: LagMonitor): void {
  monitors.delete(m);
}
