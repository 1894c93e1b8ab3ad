// The EC2 instance ID without a network call (the EMF records must not
// wait for, or depend on, the instance metadata service): Nitro instances
// put it in the DMI board asset tag. Xen instances and other machines have
// none, and the records then carry the node name only.

import { readFileSync } from 'node:fs';

const ASSET_TAG = '/sys/devices/virtual/dmi/id/board_asset_tag';
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

export function instanceId(path = ASSET_TAG): string | null {
  try {
    const v = readFileSync(path, 'utf8').trim();
    return INSTANCE_ID.test(v) ? v : null;
  } catch {
    return null;
  }
}
