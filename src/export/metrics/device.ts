// Which devices are sampled and whether their last read worked.

import { CollectedMetric } from './collected.js';
import { eachDevice, type MetricsContext } from './context.js';

export function deviceMetrics({ registry }: MetricsContext): CollectedMetric[] {
  return [
    new CollectedMetric('ethtool_info', 'Driver facts from ETHTOOL_GDRVINFO, value 1', 'gauge', ['device', 'driver', 'driver_version', 'firmware_version', 'bus_info'], (emit) =>
      eachDevice(registry, (d, device) => emit({ device, driver: d.info.driver, driver_version: d.info.driverVersion, firmware_version: d.info.firmwareVersion, bus_info: d.info.busInfo }, 1)),
    ),
    new CollectedMetric('ethtool_up', '1 when the last read of the device succeeded, else 0', 'gauge', ['device'], (emit) => eachDevice(registry, (d, device) => emit({ device }, d.ok ? 1 : 0))),
  ];
}
