// deploy/metric-names.json is what the rules, the dashboard and the ADOT
// config are checked against; here it is checked against a live /metrics.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { until } from '../../src/harness/wait.js';
import { startServe, type Served } from '../helpers/serve.js';
import type { Parsed } from '../helpers/exposition.js';
import { PROMETHEUS_PROTOBUF_ACCEPT, decodeFamilies, type DecodedFamily } from '../helpers/protobuf.js';

interface Contract {
  families: { name: string; type: string; labels: string[]; native?: true; text?: false }[];
  histogramBucketsUsed?: Record<string, string[]>;
}

const contract = JSON.parse(readFileSync(fileURLToPath(new URL('../../deploy/metric-names.json', import.meta.url)), 'utf8')) as Contract;

describe('the deploy/ metric contract against a live exporter', () => {
  let served: Served;
  let m: Parsed;
  let proto: DecodedFamily[];

  beforeAll(async () => {
    // A simulated ENA device with frequent bursts, resets and errors, so every family has samples.
    served = await startServe(['--source', 'simulate', '--simulate-seed', '3']);
    m = await until(async () => {
      const p = await served.metrics();
      return p.samples.some((s) => s.name === 'ethtool_last_burst_end_timestamp_seconds') ? p : null;
    }, 'a first finished burst', 60_000);
    const r = await fetch(`${served.base}/metrics`, { headers: { accept: PROMETHEUS_PROTOBUF_ACCEPT } });
    proto = decodeFamilies(new Uint8Array(await r.arrayBuffer()));
  }, 70_000);

  afterAll(async () => {
    await served?.stop();
  });

  it('every family in the contract is exposed, with its type and labels', () => {
    const missing: string[] = [];
    for (const f of contract.families) {
      if (f.text === false) continue;
      // Histograms and counters: TYPE lines carry the family name as exposed.
      const type = m.types.get(f.name);
      if (type === undefined) {
        // Error counters appear with the first error; the simulator makes some, but not on demand.
        if (f.name !== 'ethburst_sample_errors_total') missing.push(f.name);
        continue;
      }
      expect(`${f.name}: ${type}`).toBe(`${f.name}: ${f.type}`);
      const sample = m.samples.find((s) => s.name === f.name || s.name === `${f.name}_count`);
      if (sample) for (const l of f.labels) expect(Object.keys(sample.labels), `${f.name} label ${l}`).toContain(l);
    }
    expect(missing).toEqual([]);
  });

  it('every family marked native is a native histogram in the protobuf exposition, with its labels; text: false ones only there', () => {
    const natives = contract.families.filter((f) => f.native);
    expect(natives.length).toBeGreaterThan(0);
    for (const f of natives) {
      const fam = proto.find((x) => x.name === f.name);
      // A simulated device makes no ioctl.
      if (f.name === 'ethburst_ioctl_duration_seconds' && fam === undefined) continue;
      expect(fam?.type, f.name).toBe('HISTOGRAM');
      const h = fam!.metric[0]!;
      expect(h.histogram?.schema, f.name).toBe(3);
      for (const l of f.labels) expect(h.label?.map((x) => x.name), `${f.name} label ${l}`).toContain(l);
      if (f.text === false) expect(m.types.has(f.name), f.name).toBe(false);
    }
  });

  it('every bucket bound a rule or panel selects exists, spelled the same', () => {
    for (const [family, les] of Object.entries(contract.histogramBucketsUsed ?? {})) {
      const exposed = new Set(m.samples.filter((s) => s.name === `${family}_bucket`).map((s) => s.labels['le']));
      for (const le of les) expect(exposed, `${family} le="${le}"`).toContain(le);
    }
  });
});
