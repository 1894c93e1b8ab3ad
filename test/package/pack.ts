// Packs this repository the way a release is made (`npm pack`, which
// compiles the TypeScript through `prepare`) and gives the environment a
// user's machine has when installing the tarball: none of this machine's npm
// presets (~/.npmrc sets nodedir=/usr here, and `npm test` passes every npm
// setting to its children as npm_config_*), no TypeScript or node-gyp on
// PATH, an empty HOME. The machine-wide npmrc (the CA bundle) stays, as it
// would for any user of this machine. Registry packages come from npm's
// cache when it has them (--prefer-offline) so the test rarely waits on the
// network; only npm packages are ever fetched.

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Packed {
  /** Absolute path of the .tgz. */
  file: string;
  entryCount: number;
  /** Bytes, compressed. */
  size: number;
  unpackedSize: number;
  files: string[];
}

// Asked once, with npm's own settings, before they are stripped.
const NPM_CACHE = spawnSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8', cwd: ROOT }).stdout.trim();

export function npmPack(dest: string): Packed {
  const r = spawnSync('npm', ['pack', '--json', '--pack-destination', dest], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`npm pack exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  // prepare's output (tsc) shares stdout with the JSON report: take the array.
  const json = r.stdout.slice(r.stdout.indexOf('[\n'));
  const [report] = JSON.parse(json) as { filename: string; entryCount: number; size: number; unpackedSize: number; files: { path: string }[] }[];
  return {
    file: join(dest, report!.filename),
    entryCount: report!.entryCount,
    size: report!.size,
    unpackedSize: report!.unpackedSize,
    files: report!.files.map((f) => f.path),
  };
}

/** A user's environment for `npm install -g --prefix …` (see the top of this file). */
export function userEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  mkdirSync(home, { recursive: true });
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'INIT_CWD' || k === 'NODE') continue;
    env[k] = v;
  }
  env['PATH'] = (process.env['PATH'] ?? '/usr/bin:/bin')
    .split(':')
    .filter((d) => d !== '' && !d.includes('node_modules') && !d.includes('node-gyp-bin'))
    .join(':');
  env['HOME'] = home;
  env['npm_config_userconfig'] = '/dev/null';
  env['npm_config_cache'] = NPM_CACHE;
  env['npm_config_prefer_offline'] = 'true';
  env['npm_config_audit'] = 'false';
  env['npm_config_fund'] = 'false';
  env['npm_config_update_notifier'] = 'false';
  return { ...env, ...extra };
}

/** Whether a command resolves on the environment's PATH (the shell's own lookup). */
export function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { env }).status === 0;
}
