// The rule files under deploy/ are generated from src/export/rules.ts, and
// deploy/metric-names.json from the metric families in src/export/metrics/;
// this test regenerates them and fails when a committed copy is stale. With
// ETHBURST_UPDATE_GENERATED=1 it rewrites them instead.

import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import rulesCommand from '../../src/commands/rules.js';
import { UsageError } from '../../src/errors.js';
import { DEFAULT_RENDER_OPTIONS, GENERATED_FILES, RULES_FORMATS, renderRules, ruleGroups, toYaml } from '../../src/export/rules.js';
import { CONTRACT_FILE, renderContract } from '../../src/export/metrics/contract.js';
import { at, readRepo, runCommand, repoPath, yamlDocs, yamlOne } from './tools.js';

const UPDATE = process.env['ETHBURST_UPDATE_GENERATED'] === '1';

const cli = (args: string[]) => runCommand(rulesCommand, 'rules', args);

describe('the generated metric contract', () => {
  it(`${CONTRACT_FILE} lists exactly the families src/export/metrics/ defines`, () => {
    const text = renderContract();
    if (UPDATE) writeFileSync(repoPath(CONTRACT_FILE), text);
    if (readRepo(CONTRACT_FILE) !== text) {
      throw new Error(`${CONTRACT_FILE} is stale. Regenerate it with:\n  ETHBURST_UPDATE_GENERATED=1 npx vitest run test/deploy/generated.test.ts`);
    }
    const parsed = JSON.parse(text) as { families: { name: string }[] };
    // The five allowance counters, the conntrack gauge and every fixed family, each once.
    const names = parsed.families.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['ethtool_pps_allowance_exceeded_total', 'ethtool_conntrack_allowance_available', 'ethtool_burst_duration_seconds', 'ethburst_build_info']));
  });
});

describe('generated rule files', () => {
  for (const format of RULES_FORMATS) {
    const file = GENERATED_FILES[format];
    it(`${file} is what \`ethburst rules --format ${format}\` prints`, async () => {
      const { code, out } = await cli(['--format', format]);
      expect(code).toBe(0);
      expect(out).toBe(renderRules({ ...DEFAULT_RENDER_OPTIONS, format }));
      if (UPDATE) writeFileSync(repoPath(file), out);
      const committed = readRepo(file);
      if (committed !== out) {
        throw new Error(
          `${file} is stale. Regenerate it with:\n` +
            `  ETHBURST_UPDATE_GENERATED=1 npx vitest run test/deploy/generated.test.ts\n` +
            `or: node build/dist/src/cli.js rules --format ${format} > ${file}`,
        );
      }
    });
  }

  it('the YAML writer round-trips the rule groups through a real YAML parser', () => {
    const groups = ruleGroups();
    expect(yamlOne(toYaml({ groups: groups as never }))).toEqual(JSON.parse(JSON.stringify({ groups })));
    const tricky = { a: 'yes', b: 'no', c: '5m', d: '1', e: 'x: y', f: 'line1\n  line2\n', g: ['on', '#x', ''], h: [], i: {}, 'j k': true };
    expect(yamlOne(toYaml(tricky))).toEqual(tricky);
  });

  it('all three formats carry the same groups; the ACK configuration string is the plain rules file', async () => {
    const plain = yamlOne((await cli(['--format', 'prometheus'])).out);
    const [op] = yamlDocs((await cli(['--format', 'operator', '--namespace', 'monitoring'])).out);
    const [ack] = yamlDocs((await cli(['--format', 'ack', '--workspace-id', 'ws-1234abcd-12ab-34cd-56ef-1234567890ab'])).out);
    expect(at(op, 'spec')).toEqual(plain);
    expect(at(op, 'metadata.namespace')).toBe('monitoring');
    expect(at(ack, 'spec.workspaceID')).toBe('ws-1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(yamlOne(at(ack, 'spec.configuration') as string)).toEqual(plain);
  });

  it('--runbook-base and --job reach every alert', async () => {
    const doc = yamlOne((await cli(['--runbook-base', 'https://wiki.example.com/ethburst', '--job', 'kube-system/ethburst'])).out) as {
      groups: { rules: { alert?: string; expr: string; annotations?: Record<string, string> }[] }[];
    };
    const alerts = doc.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    for (const a of alerts) expect(a.annotations?.['runbook_url']).toBe(`https://wiki.example.com/ethburst#${a.alert!.toLowerCase()}`);
    expect(alerts.find((a) => a.alert === 'EthburstDown')?.expr).toContain('up{job="kube-system/ethburst"}');
  });

  it('refuses bad values as usage errors', async () => {
    await expect(cli(['--format', 'json'])).rejects.toThrow(UsageError);
    await expect(cli(['--namespace', 'Not_A_Namespace'])).rejects.toThrow(/--namespace/);
    await expect(cli(['--workspace-id', 'abc'])).rejects.toThrow(/--workspace-id/);
    await expect(cli(['--runbook-base', 'not a url'])).rejects.toThrow(/--runbook-base/);
    await expect(cli(['--job', 'a"b'])).rejects.toThrow(/--job/);
  });
});
