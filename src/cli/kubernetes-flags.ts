// The Kubernetes flags of the commands that name pods (serve, record), and
// the startup that turns them into a pod directory and, for serve, Node
// events (src/kubernetes/). `auto` is on exactly where a pod's service
// account is (the variables and token every pod gets), so the same command
// line works on a laptop and in the DaemonSet.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { inClusterServer, KubeApi, SERVICE_ACCOUNT_DIR } from '../kubernetes/api-client.js';
import { PodDirectory } from '../kubernetes/pod-directory.js';
import type { FlagValues } from './flags.js';

export const kubernetesFlags = {
  kubernetes: {
    type: 'string',
    default: 'auto',
    valueName: 'auto|off|URL',
    help: "the Kubernetes API that names the pods behind bursts: auto (in a pod with a service account), off, or an https:// URL (credentials from --kube-credentials)",
    check: (v: string) => (v === 'auto' || v === 'off' || /^https:\/\/[^/\s]+\/?$/.test(v) ? null : `"${v}" is not auto, off or https://HOST:PORT`),
  },
  'kube-credentials': { type: 'string', default: SERVICE_ACCOUNT_DIR, valueName: 'DIR', help: 'the service account directory: its token and ca.crt' },
} as const;

export const nodeEventsFlags = {
  'node-events': { type: 'boolean', default: 'false', help: 'post a Kubernetes Warning Event on the Node for each burst (a series per reason), as the EKS node monitoring agent does' },
  'node-events-min-drops': { type: 'int', default: '10', min: 1, max: 2 ** 31 - 1, valueName: 'N', help: 'bursts with fewer drops make no Event' },
  'node-events-interval': { type: 'duration', default: '30s', min: 1000, max: 3_600_000, help: 'at most one Event write per reason this often (bursts between are counted in its series)' },
} as const;

/** The API the flags name, or null for none (with why, for the startup log line). */
export function kubeApiFrom(flags: FlagValues<typeof kubernetesFlags>, env: NodeJS.ProcessEnv): { api: KubeApi | null; why: string } {
  const dir = flags['kube-credentials'];
  if (flags.kubernetes === 'off') return { api: null, why: 'off' };
  if (flags.kubernetes === 'auto') {
    const server = inClusterServer(env);
    if (server === null) return { api: null, why: 'not in a cluster' };
    if (!existsSync(join(dir, 'token'))) return { api: null, why: `no service account token in ${dir}` };
    return { api: new KubeApi({ server, credentialsDir: dir }), why: server };
  }
  if (!existsSync(join(dir, 'token'))) throw new UsageError(`--kubernetes ${flags.kubernetes}: no token in ${dir} (--kube-credentials)`);
  return { api: new KubeApi({ server: flags.kubernetes, credentialsDir: dir }), why: flags.kubernetes };
}

/** The pod directory for the node, started; null without an API. */
export function startPodDirectory(api: KubeApi | null, nodeName: string, log: Logger): PodDirectory | null {
  if (api === null) return null;
  const dir = new PodDirectory({ api, nodeName, log });
  dir.start();
  return dir;
}
