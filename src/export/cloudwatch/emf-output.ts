// `serve --emf`: follows the registry and writes a record per finished burst
// and per device-minute to the sink. Runs on the sampling path only to
// serialize (a burst, or a device's minute, not a tick); the sink never
// blocks.

import type { DeviceRegistry, RegistryListener } from '../../state/device-registry.js';
import type { BurstRecord } from '../../aggregation/burst-record.js';
import { CONNTRACK_AVAILABLE } from '../../aggregation/stat-policy.js';
import { burstEmfRecord, minuteEmfRecord, type DeviceMinute, type EmfIdentity } from './emf.js';
import { MinuteViews } from './minutes.js';
import type { EmfSink, EmfSinkStats } from './emf-sink.js';

export class EmfOutput implements RegistryListener {
  private readonly minutes: MinuteViews;

  constructor(
    registry: DeviceRegistry,
    private readonly sink: EmfSink,
    private readonly identity: EmfIdentity,
  ) {
    this.minutes = new MinuteViews({
      onMinute: (m) => this.minute(m),
      conntrack: (device) => {
        const v = registry.aggregator.rawValue(device, CONNTRACK_AVAILABLE);
        return v === undefined ? null : Number(v);
      },
    });
    registry.addListener(this);
    registry.addListener(this.minutes);
  }

  onBurstRecord(r: Readonly<BurstRecord>): void {
    this.sink.write('burst', JSON.stringify(burstEmfRecord(r, this.identity)));
  }

  /** After the registry finished: the partial minutes go out, then the queue drains (bounded by `deadlineMs`). */
  async close(deadlineMs?: number): Promise<void> {
    this.minutes.finish();
    await this.sink.close(deadlineMs);
  }

  stats(): EmfSinkStats {
    return this.sink.stats();
  }

  private minute(m: Readonly<DeviceMinute>): void {
    this.sink.write('minute', JSON.stringify(minuteEmfRecord(m, this.identity)));
  }
}
