// Veth pairs for the bench: our end in the host namespace (what is sampled),
// the peer in one network namespace the bench creates. Both are deleted
// when the bench ends, however it ends; names carry the pid so concurrent
// runs (and test suites) never collide.

import { execFileSync, spawnSync } from 'node:child_process';

export interface VethGroup {
  readonly netns: string;
  /** Our ends, in creation order. */
  readonly names: string[];
  /** Synchronous (it may run in process.on('exit')); idempotent. */
  remove(): void;
}

/** Why veths cannot be made here, or null when they can. */
export function vethUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'creating a network namespace and veth pairs needs root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is not installed';
  return null;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Creates `count` veth pairs; on failure, removes what it made and throws. */
export function createVeths(count: number): VethGroup {
  const tag = String(process.pid % 100_000);
  const netns = `ebbench${tag}`;
  const names: string[] = [];
  let removed = false;
  const group: VethGroup = {
    netns,
    names,
    remove() {
      if (removed) return;
      removed = true;
      // Deleting one end deletes the pair; deleting the namespace would too,
      // but only once nothing holds it.
      for (const n of names) spawnSync('ip', ['link', 'del', n], { stdio: 'ignore', timeout: 10_000 });
      spawnSync('ip', ['netns', 'del', netns], { stdio: 'ignore', timeout: 10_000 });
    },
  };
  try {
    ip(['netns', 'add', netns]);
    for (let i = 0; i < count; i++) {
      const name = `eb${tag}v${i}`;
      const peer = `eb${tag}p${i}`;
      ip(['link', 'add', name, 'type', 'veth', 'peer', 'name', peer, 'netns', netns]);
      names.push(name);
      ip(['link', 'set', name, 'up']);
      ip(['-n', netns, 'link', 'set', peer, 'up']);
    }
  } catch (err) {
    group.remove();
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`creating veth pairs: ${stderr || (err as Error).message}`);
  }
  return group;
}
