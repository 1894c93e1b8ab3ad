// Device-selection flags shared by every command that samples (record,
// serve, bench, watch), and the startup check that turns a bad --device
// into a usage error before anything is written. They are `shared`: they
// mean the same in every command, so ETHBURST_DEVICE or ETHBURST_INTERVAL
// in one unit file configures them all (src/cli/flags.ts).

import type { DiscoveryResult } from '../sampling/discovery.js';
import { UsageError } from '../errors.js';
import type { FlagValues } from './flags.js';

export const deviceFlags = {
  device: { type: 'string', repeatable: true, shared: true, valueName: 'NAME', help: 'sample exactly this interface' },
  'device-include': { type: 'regex', repeatable: true, shared: true, valueName: 'RE', help: 'sample interfaces whose name matches' },
  'device-exclude': { type: 'regex', repeatable: true, shared: true, valueName: 'RE', help: 'never sample interfaces whose name matches' },
  rescan: { type: 'duration', shared: true, default: '30s', min: 0, max: 86_400_000, help: 'how often to look for added and removed interfaces (0s: never)' },
} as const;

export const intervalFlag = {
  interval: { type: 'duration', shared: true, default: '100ms', min: 10, max: 60_000, help: 'sampling interval' },
  backoff: { type: 'boolean', shared: true, default: 'true', help: 'sample a device less often while its ioctl is slow or failing (--backoff=false disables)' },
  'backoff-threshold': { type: 'duration', shared: true, default: '20ms', min: 0.01, max: 60_000, help: 'ioctl p99 above this backs a device off' },
  'max-interval': { type: 'duration', shared: true, default: '1s', min: 10, max: 600_000, help: 'the slowest a backed-off device is sampled' },
} as const;

/** Names the LD_PRELOAD fake-ENA shim answers for (ETHBURST_FAKE_ENA="ena0,ena1=script"): discovery probes them too. */
export function fakeDeviceNames(env: NodeJS.ProcessEnv): string[] {
  return (env['ETHBURST_FAKE_ENA'] ?? '')
    .split(',')
    .map((e) => e.split('=')[0]!.trim())
    .filter((n) => n !== '');
}

export function backoffFrom(flags: FlagValues<typeof intervalFlag>) {
  return { enabled: flags.backoff, thresholdNs: flags['backoff-threshold'] * 1e6, maxIntervalNs: Math.max(flags['max-interval'], flags.interval) * 1e6 };
}

export function selectionFrom(flags: FlagValues<typeof deviceFlags>) {
  return { devices: flags.device, include: flags['device-include'], exclude: flags['device-exclude'] };
}

/**
 * Refuses to start when an explicit device is unusable or nothing was found.
 * With `allowEmpty` (serve with a name pattern) an empty result is fine:
 * matching interfaces may be hot-plugged later and found by a re-scan.
 */
export function checkDiscovery(found: DiscoveryResult, allowEmpty = false): void {
  const first = found.failed[0];
  if (first) {
    const why =
      first.code === 'ENODEV'
        ? 'no such interface'
        : first.code === 'ENOTSUP' || first.code === 'EOPNOTSUPP'
          ? 'it has no ethtool statistics'
          : `${first.op} failed: ${first.code}`;
    throw new UsageError(`--device ${first.device}: ${why}`);
  }
  if (found.selected.length === 0 && !allowEmpty) {
    throw new UsageError('no interface with ethtool statistics found (name one with --device)');
  }
}
