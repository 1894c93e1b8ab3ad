// Which devices are sampled and whether their last read worked.

import { CollectedMetric } from './collected.js';
import { eachDevice, type MetricsContext } from './context.js';

export function deviceMetrics({ registry, opts }: MetricsContext): CollectedMetric[] {
  const node = opts.nodeName ?? '';
  return [
    new CollectedMetric(
      'ethtool_info',
      'Driver facts from ETHTOOL_GDRVINFO, the node it runs on and the interface MAC (to join with the VPC ENI inventory), value 1',
      'gauge',
      ['device', 'driver', 'driver_version', 'firmware_version', 'bus_info', 'node', 'mac'],
      (emit) =>
        eachDevice(registry, (d, device) =>
          emit({ device, driver: d.info.driver, driver_version: d.info.driverVersion, firmware_version: d.info.firmwareVersion, bus_info: d.info.busInfo, node, mac: d.info.mac ?? '' }, 1),
        ),
    ),
    new CollectedMetric('ethtool_up', '1 when the last read of the device succeeded, else 0', 'gauge', ['device'], (emit) => eachDevice(registry, (d, device) => emit({ device }, d.ok ? 1 : 0))),
  ];
}
