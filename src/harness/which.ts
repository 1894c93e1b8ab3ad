// Which programs this machine has (ip, ethtool, promtool, node_exporter,
// podman...): what decides whether a measurement or a test runs, or says
// why it does not.

import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path `name` runs as (PATH, then /usr/bin and /usr/sbin), or null. */
export function which(name: string): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  const dirs = (process.env['PATH'] ?? '').split(':').filter(Boolean).concat('/usr/bin', '/usr/sbin');
  for (const dir of dirs) {
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}
