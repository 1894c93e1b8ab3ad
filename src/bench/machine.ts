// What the bench ran on, and the /proc readers it measures other processes
// with. Everything is read at run time: a result without its machine is
// not a result.

import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  kernel: string;
  node: string;
  memTotalMiB: number;
  /** 1, 5 and 15 minute load averages when the run started and ended. */
  loadStart: number[];
  loadEnd: number[];
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  let model = list[0]?.model?.trim() ?? '';
  if (model === '') {
    // Some ARM kernels leave the model out of what libuv reads.
    try {
      const m = /^(?:model name|Hardware|Processor)\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
      model = m?.[1]?.trim() ?? 'unknown';
    } catch {
      model = 'unknown';
    }
  }
  return {
    cpuModel: model,
    cores: list.length,
    kernel: `Linux ${release()}`,
    node: process.version,
    memTotalMiB: Math.round(totalmem() / 2 ** 20),
    loadStart: loadavg().map(round2),
    loadEnd: [],
  };
}

export function currentLoad(): number[] {
  return loadavg().map(round2);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * USER_HZ: the unit of /proc/PID/stat times. It is 100 on every Linux ABI
 * Node supports (the kernel fixes it for userspace, whatever CONFIG_HZ is).
 */
export const CLOCK_TICK_MS = 10;

export interface ProcTimes {
  /** user + system CPU of the process (all threads), ms, 10 ms resolution. */
  cpuMs: number;
  /** user + system CPU of reaped children, ms. */
  childrenCpuMs: number;
  threads: number;
}

/** CPU times from /proc/PID/stat; null when the process is gone. */
export function readProcTimes(pid: number | 'self'): ProcTimes | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number): number => Number(rest[n - 3]);
  return {
    cpuMs: (field(14) + field(15)) * CLOCK_TICK_MS,
    childrenCpuMs: (field(16) + field(17)) * CLOCK_TICK_MS,
    threads: field(20),
  };
}

export interface ProcMemory {
  rssBytes: number;
  /** Peak RSS since the process started. */
  hwmBytes: number;
  /** RSS in pages of files: the node binary's code and read-only data, shared libraries (clean, reclaimable). */
  fileBytes: number;
  /** RSS in anonymous memory: the V8 heap, buffers, native allocations. */
  anonBytes: number;
}

/** RSS from /proc/PID/status (kB there, so no page-size guess); null when the process is gone. */
export function readProcMemory(pid: number | 'self'): ProcMemory | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s*(\\d+)\\s*kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM'), fileBytes: kb('RssFile'), anonBytes: kb('RssAnon') };
}
