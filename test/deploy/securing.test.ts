// The manifests' side of "a port that passes review": the DaemonSet keeps the
// API and the page on the node's loopback, and the commented-out web config
// (the lines marked in daemonset.yaml and podmonitor.yaml, which
// deploy/README.md tells users to uncomment) is valid and consistent once
// uncommented. deploy/README.md's web.yml loads with serve's own parser.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import bcrypt from 'bcryptjs';
import { parse } from 'yaml';
import { DaemonSet, type IDaemonSet } from 'kubernetes-models/apps/v1';
import type { IContainer } from 'kubernetes-models/v1';
import { PodMonitor, type IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { parseListen } from '../../src/export/server.js';
import { loadWebConfig } from '../../src/export/web-config.js';
import { readRepo } from './tools.js';

/** Uncomments every commented-out YAML key line ("# key: ..." / "# - key: ..."), keeping its indentation. */
function uncomment(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/^(\s*)# ((?:\s*)(?:- )?[A-Za-z_]+:(?: |$))/, '$1$2'))
    .join('\n');
}

// Typed, not validated: the tests below run the kubernetes-models validators where it matters.
const daemonSet = (text: string): IDaemonSet => parse(text) as IDaemonSet;
const podMonitor = (text: string): IPodMonitor => parse(text) as IPodMonitor;
const container = (ds: IDaemonSet): IContainer => ds.spec!.template.spec!.containers[0]!;
const envOf = (c: IContainer): Record<string, string | undefined> => Object.fromEntries(c.env!.map((e) => [e.name, e.value]));

describe('the DaemonSet and PodMonitor, securing the port', () => {
  const dsText = readRepo('deploy/kubernetes/daemonset.yaml');
  const pmText = readRepo('deploy/kubernetes/podmonitor.yaml');

  it('serves the API and the page on the node loopback only, metrics and probes on the node port', () => {
    const c = container(daemonSet(dsText));
    const env = envOf(c);
    const api = parseListen(env['ETHBURST_SERVE_API_LISTEN']!);
    const node = parseListen(env['ETHBURST_SERVE_LISTEN']!);
    expect(api?.[0]).toBe('127.0.0.1');
    expect(api?.[1]).not.toBe(node?.[1]);
    // Not published as a container port: port-forward reaches loopback anyway.
    expect(c.ports!.map((p) => p.containerPort)).toEqual([node![1]]);
    expect(c.livenessProbe!.httpGet).toMatchObject({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe!.httpGet).toMatchObject({ path: '/readyz', port: 'metrics' });
  });

  it('with the web config lines uncommented: valid objects, HTTPS probes, the Secret mounted where ETHBURST_SERVE_WEB_CONFIG points, a PodMonitor that scrapes over TLS with basic auth', () => {
    const ds = daemonSet(uncomment(dsText));
    const pm = podMonitor(uncomment(pmText));
    new DaemonSet(ds).validate();
    new PodMonitor(pm).validate();
    const c = container(ds);
    const file = envOf(c)['ETHBURST_SERVE_WEB_CONFIG']!;
    expect(file).toMatch(/\.yml$/);
    const mount = c.volumeMounts!.find((m) => m.mountPath === dirname(file))!;
    expect(mount).toMatchObject({ readOnly: true });
    const volume = ds.spec!.template.spec!.volumes!.find((v) => v.name === mount.name)!;
    expect(volume.secret!.secretName).toBe('ethburst-web-config');
    expect(c.livenessProbe!.httpGet!.scheme).toBe('HTTPS');
    expect(c.readinessProbe!.httpGet!.scheme).toBe('HTTPS');
    const ep = pm.spec.podMetricsEndpoints![0]!;
    expect(ep.scheme).toBe('https');
    expect(ep.tlsConfig!.ca!.secret).toEqual({ name: 'ethburst-web-config', key: 'ca.crt' });
    expect(ep.tlsConfig!.serverName).toBe('ethburst');
    expect(ep.basicAuth!.password!.name).toBe('ethburst-scrape-auth');
    // The commented lines are still comments in the real files.
    expect(envOf(container(daemonSet(dsText)))).not.toHaveProperty('ETHBURST_SERVE_WEB_CONFIG');
  });

  it.skipIf(!existsSync('/usr/bin/openssl'))("deploy/README.md's web.yml and certificate commands give a file serve accepts", () => {
    const readme = readRepo('deploy/README.md');
    const webYml = /cat > web\.yml <<'YAML'\n([^]*?)\nYAML\n/.exec(readme)?.[1];
    expect(webYml).toBeDefined();
    const openssl = /^(openssl req [^\n]*\\\n[^\n]*)$/m.exec(readme)?.[1]?.replace(/\\\n\s*/, '');
    expect(openssl).toBeDefined();
    // The Secret carries the files the web config and the PodMonitor name.
    for (const f of ['web.yml', 'tls.crt', 'tls.key', 'ca.crt']) expect(readme).toContain(`--from-file=${f}`);
    const dir = mkdtempSync(join(tmpdir(), 'ethburst-deploy-web-'));
    try {
      const r = spawnSync('sh', ['-c', openssl!], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      writeFileSync(join(dir, 'web.yml'), webYml!.replace('<the bcrypt hash>', bcrypt.hashSync('pw', 4)));
      const config = loadWebConfig(join(dir, 'web.yml'));
      expect(config.tls).not.toBeNull();
      expect([...config.users.keys()]).toEqual(['prometheus']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
