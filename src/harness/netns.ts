// Veth pairs whose peer lives in a network namespace: our end in the host
// namespace is what the sampler reads. Needs root and iproute2; callers
// ask vethUnavailable() first and say why they skip. Names carry the pid,
// so concurrent runs (bench and test suites) never collide, and every
// remove() is synchronous (it may run in process.on('exit')) and idempotent.

import { execFileSync, spawnSync } from 'node:child_process';

/** Why veths cannot be made here, or null when they can. */
export function vethUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'creating a network namespace and veth pairs needs root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is not installed';
  return null;
}

function ip(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (err as Error).message}`, { cause: err });
  }
}

function quietly(args: string[]): void {
  spawnSync('ip', args, { stdio: 'ignore', timeout: 10_000 });
}

let counter = 0;

/** A short unique name (interface names are limited to 15 bytes). */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}${process.pid % 100000}${counter}`.slice(0, 15);
}

export interface Netns {
  readonly name: string;
  /** Deletes the namespace (and so the veth ends still in it). */
  remove(): void;
}

/** A network namespace for veth peers; named `name`, else a fresh unique name. */
export function createNetns(name = uniqueName('ebns')): Netns {
  ip(['netns', 'add', name]);
  let removed = false;
  return {
    name,
    remove() {
      if (removed) return;
      removed = true;
      quietly(['netns', 'del', name]);
    },
  };
}

export interface VethPair {
  /** The end in our namespace, the one the sampler reads. */
  readonly name: string;
  readonly peer: string;
  readonly netns: string;
  remove(): void;
}

export interface VethOptions {
  /** The namespace for the peer; a fresh one (removed with the pair) when not given. */
  netns?: string;
  /** Our end's name, else a unique name starting with `prefix` (default 'ebt'). */
  name?: string;
  prefix?: string;
  peer?: string;
  /** numtxqueues and numrxqueues on both ends. */
  queues?: number;
}

/** Creates a veth pair, both ends up; on failure, removes what it made and throws. */
export function createVeth(opts: VethOptions = {}): VethPair {
  const name = opts.name ?? uniqueName(opts.prefix ?? 'ebt');
  const peer = opts.peer ?? uniqueName('ebp');
  const own = opts.netns === undefined ? createNetns() : null;
  const netns = own?.name ?? opts.netns!;
  const q = opts.queues ? ['numtxqueues', String(opts.queues), 'numrxqueues', String(opts.queues)] : [];
  let removed = false;
  const pair: VethPair = {
    name,
    peer,
    netns,
    remove() {
      if (removed) return;
      removed = true;
      // Deleting one end deletes the pair.
      quietly(['link', 'del', name]);
      own?.remove();
    },
  };
  try {
    ip(['link', 'add', name, ...q, 'type', 'veth', 'peer', 'name', peer, ...q, 'netns', netns]);
    ip(['link', 'set', name, 'up']);
    ip(['-n', netns, 'link', 'set', peer, 'up']);
  } catch (err) {
    pair.remove();
    throw err;
  }
  return pair;
}

export interface VethGroup {
  readonly netns: string;
  /** Our ends, in creation order. */
  readonly names: string[];
  remove(): void;
}

/** `count` veth pairs with their peers in one namespace (the bench's devices); on failure, removes what it made and throws. */
export function createVeths(count: number): VethGroup {
  const tag = String(process.pid % 100_000);
  let ns: Netns;
  try {
    ns = createNetns(`ebbench${tag}`);
  } catch (err) {
    throw new Error(`creating veth pairs: ${(err as Error).message}`, { cause: err });
  }
  const pairs: VethPair[] = [];
  const group: VethGroup = {
    netns: ns.name,
    names: [],
    remove() {
      for (const p of pairs) p.remove();
      ns.remove();
    },
  };
  try {
    for (let i = 0; i < count; i++) {
      const pair = createVeth({ netns: ns.name, name: `eb${tag}v${i}`, peer: `eb${tag}p${i}` });
      pairs.push(pair);
      group.names.push(pair.name);
    }
  } catch (err) {
    group.remove();
    throw new Error(`creating veth pairs: ${(err as Error).message}`, { cause: err });
  }
  return group;
}
