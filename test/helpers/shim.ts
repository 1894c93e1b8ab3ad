// Builds the LD_PRELOAD fake-ENA shim (test/shim/fake-ena.c) once per run.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from '../../src/harness/which.js';

const SOURCE = fileURLToPath(new URL('../shim/fake-ena.c', import.meta.url));
const OUT_DIR = fileURLToPath(new URL('../../build/test/', import.meta.url));
export const SHIM = `${OUT_DIR}fake-ena.so`;

export const haveCc = which('cc') !== null;

/** Compiles the shim if it is missing or older than its source; returns its path. */
export function buildShim(): string {
  if (existsSync(SHIM) && statSync(SHIM).mtimeMs >= statSync(SOURCE).mtimeMs) return SHIM;
  mkdirSync(OUT_DIR, { recursive: true });
  const r = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', SHIM, SOURCE, '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the fake-ENA shim failed: ${r.stderr}`);
  return SHIM;
}

/** Environment that makes the named fake devices exist for a child process. */
export function shimEnv(devices: string): NodeJS.ProcessEnv {
  return { LD_PRELOAD: buildShim(), ETHBURST_FAKE_ENA: devices };
}

let scripts: string | undefined;

/** Writes a shim script (test/shim/fake-ena.c's directives) to a temporary file; returns its path. */
export function shimScript(name: string, text: string): string {
  scripts ??= mkdtempSync(join(tmpdir(), 'ethburst-shim-'));
  const p = join(scripts, name);
  writeFileSync(p, text);
  return p;
}
