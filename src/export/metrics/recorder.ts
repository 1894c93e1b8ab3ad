// The flight recorder's own footprint: the memory its rings and the kept
// captures hold, and what --capture-dir wrote, deleted and failed to write.
// Both are bounded (flags, in the startup log line): the counters of what
// was dropped or deleted to stay within the bounds say when they bite.

import { CollectedMetric } from './collected.js';
import type { MetricsContext } from './context.js';

export const RECORDER_BYTES = 'ethburst_recorder_bytes';
export const CAPTURES = 'ethburst_captures_total';
export const CAPTURES_EVICTED = 'ethburst_captures_evicted_total';
export const CAPTURE_MEMORY_BYTES = 'ethburst_capture_memory_bytes';
export const CAPTURE_DIR_BYTES = 'ethburst_capture_dir_bytes';
export const CAPTURE_FILES_WRITTEN = 'ethburst_capture_files_written_total';
export const CAPTURE_FILES_DELETED = 'ethburst_capture_files_deleted_total';
export const CAPTURE_WRITE_FAILURES = 'ethburst_capture_write_failures_total';

/** What --capture-dir reports (src/export/capture-dir.ts). */
export interface CaptureDirStats {
  readonly bytes: number;
  readonly written: number;
  readonly deleted: number;
  readonly failed: number;
}

export function recorderMetrics({ registry, opts }: MetricsContext): CollectedMetric[] {
  const rec = registry.recorder;
  const caps = registry.captures;
  const dir = opts.captureDir ?? null;
  const whenRecording = (fn: () => number) => (emit: (labels: Record<string, string>, v: number) => void) => {
    if (rec !== null) emit({}, fn());
  };
  const whenDir = (fn: (d: CaptureDirStats) => number) => (emit: (labels: Record<string, string>, v: number) => void) => {
    if (dir !== null) emit({}, fn(dir));
  };
  return [
    new CollectedMetric(RECORDER_BYTES, 'Memory the flight recorder holds: the last minutes of every device and of the node, preallocated per device', 'gauge', [], whenRecording(() => rec!.bytes)),
    new CollectedMetric(CAPTURES, 'Burst captures cut (the samples around a finished burst)', 'counter', [], whenRecording(() => caps.added)),
    new CollectedMetric(CAPTURES_EVICTED, 'Burst captures no longer served, oldest first: beyond the last 1000, or beyond the memory limit for copied-out ones', 'counter', [], whenRecording(() => caps.evicted)),
    new CollectedMetric(CAPTURE_MEMORY_BYTES, 'Memory of burst captures copied out of the rings of devices that went away (captures otherwise read the rings and hold nothing)', 'gauge', [], whenRecording(() => caps.bytes)),
    new CollectedMetric(CAPTURE_DIR_BYTES, 'Bytes of burst captures in --capture-dir', 'gauge', [], whenDir((d) => d.bytes)),
    new CollectedMetric(CAPTURE_FILES_WRITTEN, 'Burst captures written to --capture-dir', 'counter', [], whenDir((d) => d.written)),
    new CollectedMetric(CAPTURE_FILES_DELETED, 'Burst captures deleted from --capture-dir to stay under its size cap', 'counter', [], whenDir((d) => d.deleted)),
    new CollectedMetric(CAPTURE_WRITE_FAILURES, 'Burst captures that could not be written to --capture-dir (full or read-only disk); they stay in memory', 'counter', [], whenDir((d) => d.failed)),
  ];
}
