// The container image, built and run the way users get it (issue 12 §2):
// deploy/docker/Dockerfile built with podman on top of offline stand-ins for
// its base images (standins.ts), then started exactly as
// deploy/kubernetes/daemonset.yaml starts it — host network, its user,
// read-only root, every capability dropped, no-new-privileges, its memory
// limit, its args and env — and checked from the host: it samples eth0 and
// answers /metrics, /healthz, /readyz and / on loopback.
//
// The one deviation from the DaemonSet is where it listens
// (ETHBURST_SERVE_LISTEN, and ETHBURST_SERVE_API_LISTEN for the page and
// /api): 127.0.0.1 and free ports instead of 0.0.0.0:19810 and
// 127.0.0.1:19811, so nothing is exposed off this machine and a busy port
// cannot fail the test. With host networking the container's listeners are
// the host's.
//
// As root (CI) a missing podman/runc/mmdebstrap fails the suite: .ci/run
// installs them, so their absence means the machine is not what CI expects.
// Without root the suite is skipped with the reason.

import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { freePort } from '../../src/harness/ports.js';
import { until } from '../../src/harness/wait.js';
import { CACHE, ROOT, baseImages, ensureStandins, missingPrerequisites, podman, podmanQuiet, qualified, RECIPES } from './standins.js';

const DOCKERFILE = 'deploy/docker/Dockerfile';
const IGNOREFILE = 'deploy/docker/Dockerfile.dockerignore';

const MISSING = missingPrerequisites();
const REQUIRED = process.getuid?.() === 0 || Boolean(process.env['CI']);
if (MISSING && !REQUIRED) console.warn(`image test skipped: ${MISSING}`);

// Per run, so concurrent runs (several worktrees on one machine) never
// remove each other's image or container.
const TAG = `localhost/ethburst-image-test:${process.pid}`;
const NAME = `ethburst-image-test-${process.pid}`;

type Obj = Record<string, unknown>;

interface PodSpec {
  hostNetwork?: boolean;
  volumes?: { name: string; emptyDir?: { sizeLimit?: string }; [kind: string]: unknown }[];
  securityContext?: { runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean; seccompProfile?: { type?: string } };
  containers: {
    name: string;
    args?: string[];
    command?: string[];
    env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }[];
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
    resources?: { limits?: { memory?: string } };
    securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; privileged?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
  }[];
}

/** `podman run` flags for the DaemonSet's pod, read from the manifest so the two cannot drift. */
function runFlags(pod: PodSpec, listen: string, apiListen: string): { flags: string[]; args: string[] } {
  const c = pod.containers[0]!;
  const sc = c.securityContext ?? {};
  const psc = pod.securityContext ?? {};
  // Anything this does not translate would be silently ignored: refuse instead.
  if (pod.containers.length !== 1) throw new Error('one container expected');
  if (c.command) throw new Error('command: overrides the ENTRYPOINT; translate it too');
  if (sc.capabilities?.add?.length) throw new Error('capabilities.add is not translated');
  if (sc.privileged) throw new Error('privileged is not translated');
  const flags: string[] = [];
  if (pod.hostNetwork) flags.push('--network=host');
  if (psc.runAsUser !== undefined) flags.push(`--user=${psc.runAsUser}:${psc.runAsGroup ?? psc.runAsUser}`);
  // Kubernetes' read-only root has no tmpfs on /tmp or /run; podman's does unless told not to.
  if (sc.readOnlyRootFilesystem) flags.push('--read-only', '--read-only-tmpfs=false');
  for (const cap of sc.capabilities?.drop ?? []) flags.push(`--cap-drop=${cap}`);
  if (sc.allowPrivilegeEscalation === false) flags.push('--security-opt=no-new-privileges');
  // RuntimeDefault is the runtime's default seccomp profile: podman applies its own unless told otherwise.
  if (psc.seccompProfile?.type !== undefined && psc.seccompProfile.type !== 'RuntimeDefault') throw new Error('seccomp profile not translated');
  // An emptyDir is a fresh, world-writable directory of the pod: a tmpfs of its size limit here.
  for (const m of c.volumeMounts ?? []) {
    const v = (pod.volumes ?? []).find((x) => x.name === m.name);
    if (!v?.emptyDir || Object.keys(v).length !== 2) throw new Error(`volume ${m.name}: only emptyDir is translated`);
    const size = /^(\d+)Mi$/.exec(v.emptyDir.sizeLimit ?? '');
    if (!size) throw new Error(`volume ${m.name}: an emptyDir needs a sizeLimit in Mi`);
    flags.push('--mount', `type=tmpfs,destination=${m.mountPath},tmpfs-size=${size[1]}m,tmpfs-mode=1777${m.readOnly ? ',ro' : ''}`);
  }
  const mem = c.resources?.limits?.memory;
  if (mem) {
    const m = /^(\d+)Mi$/.exec(mem);
    if (!m) throw new Error(`memory limit ${mem}: only Mi is translated`);
    flags.push(`--memory=${m[1]}m`);
  }
  const ours: Record<string, string> = { ETHBURST_SERVE_LISTEN: listen, ETHBURST_SERVE_API_LISTEN: apiListen };
  for (const e of c.env ?? []) {
    // The downward API's spec.nodeName: this machine's name stands in for the node's.
    const value = e.value ?? (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName' && Object.keys(e.valueFrom).length === 1 ? hostname() : undefined);
    if (value === undefined) throw new Error(`env ${e.name}: only literal values and fieldRef spec.nodeName are translated`);
    if (!(e.name in ours)) flags.push('--env', `${e.name}=${value}`);
  }
  for (const [name, value] of Object.entries(ours)) flags.push('--env', `${name}=${value}`);
  return { flags, args: c.args ?? [] };
}

/** Containers and images of earlier runs whose process is gone (killed by a timeout, say). */
function removeLeftovers(): void {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  for (const name of podmanQuiet(['ps', '-a', '--format', '{{.Names}}'])) {
    const m = /^ethburst-image-test-(\d+)$/.exec(name);
    if (m && !alive(Number(m[1]))) podmanQuiet(['rm', '-f', '-t', '0', name]);
  }
  for (const image of podmanQuiet(['images', '--format', '{{.Repository}}:{{.Tag}}'])) {
    const m = /^localhost\/ethburst-image-test:(\d+)$/.exec(image);
    if (m && !alive(Number(m[1]))) podmanQuiet(['rmi', '-f', image]);
  }
}

function daemonSetPod(): PodSpec {
  const ds = parseYaml(readFileSync(join(ROOT, 'deploy/kubernetes/daemonset.yaml'), 'utf8')) as Obj;
  return ((ds['spec'] as Obj)['template'] as Obj)['spec'] as PodSpec;
}

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

describe.skipIf(MISSING !== '' && !REQUIRED)(`container image (podman, stand-in base images)${MISSING && !REQUIRED ? ` [SKIPPED: ${MISSING}]` : ''}`, () => {
  let base = '';
  /** The page and /api: on their own address, as the DaemonSet serves them. */
  let api = '';
  let pid = 0;
  const timings: Record<string, number> = {};
  const timed = async <T>(label: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      timings[label] = (Date.now() - t0) / 1000;
    }
  };

  beforeAll(async () => {
    if (MISSING) throw new Error(`the image test cannot run: ${MISSING}`);
    cleanup();
    const dockerfile = readFileSync(join(ROOT, DOCKERFILE), 'utf8');
    const done = await timed('stand-ins', () => ensureStandins(dockerfile));
    console.log(`stand-in base images (cache ${CACHE}):\n  ${done.join('\n  ')}`);
    await timed('podman build', () =>
      podman(
        [
          'build',
          // Only the stand-ins just made: nothing may come from a registry.
          '--pull=never',
          // No layer cache: every run builds the Dockerfile from its first
          // step, as a fresh CI machine or a release build does.
          '--layers=false',
          // The build stage's npm ci needs the registry; host networking
          // needs no bridge or firewall setup.
          '--network=host',
          '-f', DOCKERFILE,
          '--ignorefile', IGNOREFILE,
          '-t', TAG,
          '.',
        ],
        30 * 60_000,
      ),
    );
    const port = await freePort();
    let apiPort = await freePort();
    while (apiPort === port) apiPort = await freePort();
    base = `http://127.0.0.1:${port}`;
    api = `http://127.0.0.1:${apiPort}`;
    const { flags, args } = runFlags(daemonSetPod(), `127.0.0.1:${port}`, `127.0.0.1:${apiPort}`);
    await timed('podman run', () => podman(['run', '-d', '--pull=never', '--name', NAME, ...flags, TAG, ...args]));
    pid = Number((await podman(['inspect', '--format', '{{.State.Pid}}', NAME])).stdout.trim());
    await timed('first /healthz', () => until(async () => (await get(`${base}/healthz`)).status === 200, 'GET /healthz', 60_000));
  }, 60 * 60_000);

  function cleanup(): void {
    podmanQuiet(['rm', '-f', '-t', '0', NAME]);
    podmanQuiet(['rmi', '-f', TAG]);
    removeLeftovers();
    // Untagged images only: what a failed build left behind, and stand-ins
    // that a newer recipe replaced. The current stand-ins keep their tags.
    podmanQuiet(['image', 'prune', '-f']);
  }

  afterAll(async () => {
    if (pid) {
      const logs = await podman(['logs', NAME]).catch((e: Error) => ({ stdout: '', stderr: e.message }));
      console.log(`container log (last lines):\n${(logs.stdout + logs.stderr).split('\n').slice(-8).join('\n')}`);
    }
    console.log(`image test timings (s): ${JSON.stringify(timings)}`);
    cleanup();
  }, 5 * 60_000);

  it('builds a runtime image with no compiler, no TypeScript sources, and reports its size', async () => {
    const { stdout } = await podman(['image', 'inspect', '--format', '{{.Size}} {{.Config.User}}', TAG]);
    const [size, user] = stdout.trim().split(' ');
    const runtimeBase = baseImages(readFileSync(join(ROOT, DOCKERFILE), 'utf8')).at(-1)!;
    const baseSize = Number((await podman(['image', 'inspect', '--format', '{{.Size}}', qualified(runtimeBase)])).stdout.trim());
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    console.log(`runtime image: ${mb(Number(size))} (podman image inspect .Size), of which ${mb(Number(size) - baseSize)} above the ${runtimeBase} stand-in; user ${user}`);
    expect(user).toBe('65534:65534');
    // Look inside the image, not the container: a throwaway shell.
    const probe = await podman([
      'run', '--rm', '--pull=never', '--network=none', '--entrypoint', 'sh', TAG, '-c',
      'for c in cc gcc g++ c++ make python3 tsc; do command -v $c; done; echo ---; ' +
        // ethburst's own tree only: the base image's npm carries node-gyp's C++ shims.
        'find /app \\( -name "*.ts" -o -name "*.mts" -o -name "*.cts" -o -name "*.cc" \\) ! -name "*.d.ts" ! -name "*.d.mts" ! -name "*.d.cts" -print; echo ---; ' +
        'ls -A /app; echo ---; ls -A /app/src /app/src/page',
    ]);
    const [compilers, sources, top, src] = probe.stdout.split('---\n').map((p) => p.trim().split('\n').filter(Boolean));
    expect(compilers).toEqual([]);
    expect(sources).toEqual([]);
    expect(top).toEqual(['build', 'node_modules', 'package.json', 'src']);
    expect(src).toEqual(['/app/src:', 'page', '/app/src/page:', 'app.js', 'index.html', 'style.css']);
  });

  it('runs as 65534 with no capabilities and no-new-privileges, as the kernel sees it', () => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (n: string) => new RegExp(`^${n}:\\s+(.*)$`, 'm').exec(status)?.[1]?.trim();
    expect(field('Uid')!.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
    expect(field('Gid')!.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(BigInt(`0x${field(set)}`), set).toBe(0n);
    expect(field('NoNewPrivs')).toBe('1');
    expect(field('Seccomp')).toBe('2');
    // Host network: the same network namespace as this process.
    expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(readlinkSync('/proc/self/ns/net'));
  });

  it('has a read-only root', async () => {
    const r = await podman(['exec', NAME, 'sh', '-c', 'for d in / /app /tmp /run; do touch $d/ethburst-write-test 2>&1; done; true']);
    expect(r.stdout.match(/Read-only file system/g)).toHaveLength(4);
  });

  it('samples eth0 through the ioctl and serves it on /metrics', async () => {
    const count = async () => {
      const m = await get(`${base}/metrics`);
      expect(m.status).toBe(200);
      expect(m.body).toMatch(/^ethtool_up\{device="eth0"\} 1$/m);
      // The node's name from the DaemonSet's downward-API variable, the MAC from the host's sysfs.
      expect(m.body).toContain(`node="${hostname()}",mac="${readFileSync('/sys/class/net/eth0/address', 'utf8').trim()}"`);
      const c = /^ethburst_ioctl_duration_seconds_count\{device="eth0"\} (\d+)$/m.exec(m.body);
      return c ? Number(c[1]) : 0;
    };
    const first = await count();
    // Still sampling: the count of ioctls on eth0 keeps growing.
    await until(async () => (await count()) > first, 'eth0 samples growing', 30_000);
    const devices = JSON.parse((await get(`${api}/api/devices`)).body) as { source: string; devices: { name: string; up: boolean; lastError: unknown }[] };
    expect(devices.source).toBe('native');
    expect(devices.devices.find((d) => d.name === 'eth0')).toMatchObject({ up: true, lastError: null });
  });

  it('answers /healthz, /readyz and / like the probes and a browser expect', async () => {
    expect((await get(`${base}/healthz`)).status).toBe(200);
    // Ready once every selected device has a good sample.
    await until(async () => (await get(`${base}/readyz`)).status === 200, 'GET /readyz 200', 60_000);
    // The node port keeps /metrics and the probes only.
    expect((await get(`${base}/`)).status).toBe(404);
    const page = await get(`${api}/`);
    expect(page.status).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('app.js');
    // The page's files and uPlot came along into the image.
    for (const asset of ['/ui/app.js', '/ui/style.css', '/ui/uplot.min.js']) expect((await get(`${api}${asset}`)).status, asset).toBe(200);
  });

  it('logs JSON as the DaemonSet asks, naming eth0', async () => {
    const { stdout, stderr } = await podman(['logs', NAME]);
    const lines = (stdout + stderr).split('\n').filter((l) => l.startsWith('{'));
    const entries = lines.map((l) => JSON.parse(l) as { msg: string; device?: string });
    expect(entries.some((e) => e.msg === 'sampling device' && e.device === 'eth0')).toBe(true);
  });

  it('the stand-ins carry the Dockerfile FROM names and say they are stand-ins', async () => {
    for (const r of RECIPES) {
      const { stdout } = await podman(['image', 'inspect', '--format', '{{index .Labels "io.ethburst.test.standin-for"}}', qualified(r.from)]);
      expect(stdout.trim()).toBe(r.from);
    }
  });
});
