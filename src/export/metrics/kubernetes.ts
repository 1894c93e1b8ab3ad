// The Kubernetes side (src/kubernetes/), where it is on: the pods the
// directory knows on this node and how often listing or watching them
// failed, and the Node events written, refused or waiting. A failing API
// never reaches sampling; these say that it is failing.

import { CollectedMetric } from './collected.js';
import type { MetricsContext } from './context.js';
import type { PodDirectoryStats } from '../../kubernetes/pod-directory.js';
import type { NodeEventsStats } from '../../kubernetes/node-events.js';

export const KUBERNETES_PODS = 'ethburst_kubernetes_pods';
export const KUBERNETES_POD_FAILURES = 'ethburst_kubernetes_pod_list_failures_total';
export const KUBERNETES_EVENTS = 'ethburst_kubernetes_events_total';
export const KUBERNETES_EVENTS_PENDING = 'ethburst_kubernetes_events_pending';

/** What serve hands the metrics: the directory's and the events' counts, where they run. */
export interface KubernetesStats {
  readonly pods: (() => PodDirectoryStats) | null;
  readonly events: (() => NodeEventsStats) | null;
}

export function kubernetesMetrics({ opts }: MetricsContext): CollectedMetric[] {
  const k = opts.kubernetes ?? { pods: null, events: null };
  type Emit = (labels: Record<string, string>, v: number) => void;
  const pods = (fn: (s: PodDirectoryStats) => number) => (emit: Emit) => {
    if (k.pods) emit({}, fn(k.pods()));
  };
  const events = (fn: (s: NodeEventsStats, emit: Emit) => void) => (emit: Emit) => {
    if (k.events) fn(k.events(), emit);
  };
  return [
    new CollectedMetric(KUBERNETES_PODS, 'Pods on this node the Kubernetes API named (their addresses name the pods behind bursts)', 'gauge', [], pods((s) => s.pods)),
    new CollectedMetric(KUBERNETES_POD_FAILURES, 'Failed lists or watches of this node\'s pods (403: the service account may not list pods); bursts name pods by address meanwhile', 'counter', [], pods((s) => s.failures)),
    new CollectedMetric(
      KUBERNETES_EVENTS,
      'Writes of Warning Events on the Node (--node-events): created, patched (a repeat counted in the series) or failed (retried)',
      'counter',
      ['result'],
      events((s, emit) => {
        emit({ result: 'created' }, s.created);
        emit({ result: 'patched' }, s.patched);
        emit({ result: 'failed' }, s.failed);
      }),
    ),
    new CollectedMetric(KUBERNETES_EVENTS_PENDING, 'Bursts counted for a Node event but not yet written (rate limit, or an API that is failing)', 'gauge', [], events((s, emit) => emit({}, s.pending))),
  ];
}
