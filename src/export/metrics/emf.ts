// The CloudWatch EMF output (`serve --emf`), where it is on: records written
// and lost, the queue, and the connections that failed. A down agent never
// reaches sampling; these say that it is down and what it cost.

import { CollectedMetric } from './collected.js';
import type { MetricsContext } from './context.js';
import { EMF_KINDS, type EmfSinkStats } from '../cloudwatch/emf-sink.js';

export const EMF_RECORDS = 'ethburst_emf_records_total';
export const EMF_QUEUED = 'ethburst_emf_queued_records';
export const EMF_CONNECTION_FAILURES = 'ethburst_emf_connection_failures_total';

export function emfMetrics({ opts }: MetricsContext): CollectedMetric[] {
  const stats = opts.emf ?? null;
  type Emit = (labels: Record<string, string>, v: number) => void;
  const when = (fn: (s: EmfSinkStats, emit: Emit) => void) => (emit: Emit) => {
    if (stats) fn(stats(), emit);
  };
  return [
    new CollectedMetric(
      EMF_RECORDS,
      'CloudWatch EMF records (--emf) by kind (burst, minute): written to the destination, or dropped (queue full while the destination was down, too large, or refused)',
      'counter',
      ['kind', 'result'],
      when((s, emit) => {
        for (const kind of EMF_KINDS) {
          emit({ kind, result: 'written' }, s.written[kind]);
          emit({ kind, result: 'dropped' }, s.dropped[kind]);
        }
      }),
    ),
    new CollectedMetric(EMF_QUEUED, 'EMF records waiting for the destination (bounded by --emf-queue; the oldest are dropped beyond it)', 'gauge', [], when((s, emit) => emit({}, s.queued))),
    new CollectedMetric(EMF_CONNECTION_FAILURES, 'Failed connections to the EMF destination (tcp://): refused, broken or closed by the agent; retried with back-off', 'counter', [], when((s, emit) => emit({}, s.connectionFailures))),
  ];
}
