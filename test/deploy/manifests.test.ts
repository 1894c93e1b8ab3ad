// Offline validation of everything a user applies: Kubernetes objects
// against kubernetes-models (JSON schema) and their TypeScript interfaces
// (tsc's excess-property check catches misspelt fields the schemas let
// through); the ACK and OpenTelemetryCollector CRs against checks written
// from their CRDs and docs (../shared/notes/deploy.md §1-3); the ADOT scrape
// config with promtool; the Dockerfile's invariants. The systemd unit is
// tested with its install steps in systemd.test.ts.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as yamlStringify } from 'yaml';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { PodMonitor, PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { which } from '../../src/harness/which.js';
import { TempDir, ROOT, at, isObj, missing, ok, readRepo, repoPath, run, yamlDocs, yamlOne, type Obj } from './tools.js';
import serve from '../../src/commands/serve.js';
import { envNames } from '../../src/cli/flags.js';

/** Every variable `ethburst serve` reads: a deploy file setting any other name configures nothing. */
const SERVE_ENV = new Set(Object.entries(serve.flags).flatMap(([flag, def]) => envNames('serve', flag, def)));

type Validatable = { validate(): void };
const MODELS: Record<string, { cls: new (o: never) => Validatable; iface: string; from: string }> = {
  'apps/v1 DaemonSet': { cls: DaemonSet, iface: 'IDaemonSet', from: 'kubernetes-models/apps/v1' },
  'v1 Namespace': { cls: Namespace, iface: 'INamespace', from: 'kubernetes-models/v1' },
  'v1 Service': { cls: Service, iface: 'IService', from: 'kubernetes-models/v1' },
  'v1 ServiceAccount': { cls: ServiceAccount, iface: 'IServiceAccount', from: 'kubernetes-models/v1' },
  'rbac.authorization.k8s.io/v1 ClusterRole': { cls: ClusterRole, iface: 'IClusterRole', from: 'kubernetes-models/rbac.authorization.k8s.io/v1' },
  'rbac.authorization.k8s.io/v1 ClusterRoleBinding': { cls: ClusterRoleBinding, iface: 'IClusterRoleBinding', from: 'kubernetes-models/rbac.authorization.k8s.io/v1' },
  'monitoring.coreos.com/v1 PodMonitor': { cls: PodMonitor, iface: 'IPodMonitor', from: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1' },
  'monitoring.coreos.com/v1 PrometheusRule': { cls: PrometheusRule, iface: 'IPrometheusRule', from: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1' },
};
const K8S_FILES = ['namespace.yaml', 'rbac.yaml', 'daemonset.yaml', 'service.yaml', 'podmonitor.yaml', 'prometheusrule.yaml'].map((f) => `deploy/kubernetes/${f}`);

function docsOf(file: string): Obj[] {
  return yamlDocs(readRepo(file)).filter(isObj);
}
const kindOf = (d: Obj): string => `${String(d['apiVersion'])} ${String(d['kind'])}`;

const typedDocs: { file: string; doc: Obj }[] = [];
for (const file of [...K8S_FILES, 'deploy/adot/collector.yaml']) {
  for (const doc of docsOf(file)) if (MODELS[kindOf(doc)]) typedDocs.push({ file, doc });
}

describe('Kubernetes objects against kubernetes-models', () => {
  it('every deploy/kubernetes document has a known kind', () => {
    for (const file of K8S_FILES) for (const d of docsOf(file)) expect(MODELS[kindOf(d)], `${file}: ${kindOf(d)}`).toBeDefined();
  });

  for (const { file, doc } of typedDocs) {
    it(`${file}: ${kindOf(doc)} ${String(at(doc, 'metadata.name'))} validates`, () => {
      new MODELS[kindOf(doc)]!.cls(doc as never).validate();
    });
  }

  it('the validator does reject a bad DaemonSet (string containerPort, no selector)', () => {
    const bad = structuredClone(docsOf('deploy/kubernetes/daemonset.yaml')[0]!) as { spec: Obj & { template: { spec: { containers: { ports: Obj[] }[] } } } };
    bad.spec.template.spec.containers[0]!.ports[0]!['containerPort'] = '19810';
    delete bad.spec['selector'];
    expect(() => new DaemonSet(bad as never).validate()).toThrow(/selector|containerPort/);
  });

  it('tsc finds no unknown or mistyped fields (object literals checked against the model interfaces)', () => {
    // Inside the repository so node_modules resolves; /test-artifacts/ is git-ignored.
    const dir = repoPath('test-artifacts', `deploy-types-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const imports = new Map<string, Set<string>>();
      const body: string[] = [];
      const emit = (docs: { file: string; doc: Obj }[], name: string): void => {
        for (const [i, { file, doc }] of docs.entries()) {
          const m = MODELS[kindOf(doc)]!;
          imports.set(m.from, (imports.get(m.from) ?? new Set()).add(m.iface));
          body.push(`// ${file}\nexport const ${name}${i} = ${JSON.stringify(doc)} satisfies ${m.iface};`);
        }
      };
      emit(typedDocs, 'doc');
      // A misspelt field must fail, or this check proves nothing.
      const typo = structuredClone(typedDocs.find((d) => d.doc['kind'] === 'DaemonSet')!);
      (at(typo.doc, 'spec.template.spec') as Obj)['hostNetwrk'] = true;
      const head = [...imports].map(([from, names]) => `import type { ${[...names].join(', ')} } from '${from}';`).join('\n');
      writeFileSync(`${dir}/manifests.ts`, `${head}\n${body.join('\n')}\n`);
      body.length = 0;
      emit([typo], 'typo');
      writeFileSync(`${dir}/typo.ts`, `${head}\n${body.join('\n')}\n`);
      const tsc = repoPath('node_modules', 'typescript', 'bin', 'tsc');
      const flags = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node'];
      const good = run(process.execPath, [tsc, ...flags, `${dir}/manifests.ts`], { cwd: ROOT });
      expect(good.status, good.stdout + good.stderr).toBe(0);
      const bad = run(process.execPath, [tsc, ...flags, `${dir}/typo.ts`], { cwd: ROOT });
      expect(bad.stdout).toMatch(/hostNetwrk/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DaemonSet, Service, PodMonitor: the properties the issue requires', () => {
  const ds = docsOf('deploy/kubernetes/daemonset.yaml')[0]!;
  const pod = at(ds, 'spec.template.spec') as Obj;
  const c = (pod['containers'] as Obj[])[0]!;

  it('host network without hostPID or host mounts; DNS for host-network pods', () => {
    expect(pod['hostNetwork']).toBe(true);
    expect(pod['dnsPolicy']).toBe('ClusterFirstWithHostNet');
    expect(pod['hostPID']).toBeUndefined();
    expect(pod['hostIPC']).toBeUndefined();
    // The one volume is the bounded emptyDir for burst captures, never a host path.
    expect(pod['volumes']).toEqual([{ name: 'captures', emptyDir: { sizeLimit: '300Mi' } }]);
    expect(c['volumeMounts']).toEqual([{ name: 'captures', mountPath: '/var/lib/ethburst/captures' }]);
    const env = Object.fromEntries((c['env'] as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    expect(env['ETHBURST_SERVE_CAPTURE_DIR']).toBe('/var/lib/ethburst/captures');
    // The directory's cap fits inside the volume's limit with room for the file being written.
    expect(Number(env['ETHBURST_SERVE_CAPTURE_DIR_MAX'])).toBeLessThan(300);
  });

  it('runs as 65534, non-root, read-only, no privilege escalation, all capabilities dropped', () => {
    expect(pod['securityContext']).toMatchObject({ runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true });
    expect(c['securityContext']).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(at(c, 'securityContext.capabilities')).not.toHaveProperty('add');
  });

  it('runs on every node but Fargate, survives pressure, rolls 10% at a time', () => {
    expect(pod['tolerations']).toEqual([{ operator: 'Exists' }]);
    expect(pod['priorityClassName']).toBe('system-node-critical');
    expect(at(ds, 'spec.updateStrategy')).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } });
    const terms = at(pod, 'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms') as { matchExpressions: Obj[] }[];
    expect(terms[0]!.matchExpressions).toContainEqual({ key: 'eks.amazonaws.com/compute-type', operator: 'NotIn', values: ['fargate'] });
  });

  it('probes, port, env config, annotations, resources and image as documented', () => {
    expect(at(c, 'livenessProbe.httpGet.path')).toBe('/healthz');
    expect(at(c, 'readinessProbe.httpGet.path')).toBe('/readyz');
    expect(c['ports']).toEqual([{ name: 'metrics', containerPort: 19810, hostPort: 19810, protocol: 'TCP' }]);
    const env = Object.fromEntries((c['env'] as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ ETHBURST_SERVE_LISTEN: '0.0.0.0:19810', ETHBURST_SERVE_INTERVAL: '100ms', ETHBURST_SERVE_LOG_FORMAT: 'json' });
    // NODE_NAME is the downward API's, as node agents name it (serve reads it for --node-name).
    expect(c['env']).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    for (const name of Object.keys(env)) if (name !== 'NODE_NAME') expect(SERVE_ENV, `${name} is not read by serve`).toContain(name);
    expect(at(ds, 'spec.template.metadata.annotations')).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '19810', 'prometheus.io/path': '/metrics' });
    expect(c['resources']).toEqual({ requests: { cpu: '10m', memory: '96Mi' }, limits: { memory: '192Mi' } });
    expect(c['image']).toBe('ghcr.io/OWNER/ethburst:0.1.0');
    expect(readRepo('deploy/README.md')).toContain('ghcr.io/OWNER/ethburst');
  });

  it('runs as a ServiceAccount that may read pods and write Events, nothing else, and posts Node events', () => {
    const [sa, role, binding] = docsOf('deploy/kubernetes/rbac.yaml');
    expect(pod).toMatchObject({ serviceAccountName: at(sa, 'metadata.name'), automountServiceAccountToken: true });
    expect(at(role, 'rules')).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    ]);
    expect(at(binding, 'roleRef')).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: at(role, 'metadata.name') });
    expect(at(binding, 'subjects')).toEqual([{ kind: 'ServiceAccount', name: at(sa, 'metadata.name'), namespace: 'ethburst' }]);
    const env = Object.fromEntries((c['env'] as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    expect(env['ETHBURST_SERVE_NODE_EVENTS']).toBe('true');
  });

  it('the Service and PodMonitor select the DaemonSet pods and its named port; job is "ethburst"', () => {
    const labels = at(ds, 'spec.template.metadata.labels') as Obj;
    const svc = docsOf('deploy/kubernetes/service.yaml')[0]!;
    const pm = docsOf('deploy/kubernetes/podmonitor.yaml')[0]!;
    expect(labels).toMatchObject(at(svc, 'spec.selector') as Obj);
    expect(labels).toMatchObject(at(pm, 'spec.selector.matchLabels') as Obj);
    expect(labels[at(pm, 'spec.jobLabel') as string]).toBe('ethburst');
    expect((at(pm, 'spec.podMetricsEndpoints') as Obj[])[0]).toMatchObject({ port: 'metrics', path: '/metrics' });
  });

  // CI installs kubectl (Debian's kubernetes-client): there a missing
  // kubectl fails the test instead of skipping it.
  it.skipIf(missing('kubectl') !== '' && process.env['CI'] !== 'true')('kubectl kustomize builds the kustomization with every object in one namespace', () => {
    expect(which('kubectl'), 'kubectl not found (apt-get install kubernetes-client)').not.toBeNull();
    const out = yamlDocs(ok(which('kubectl')!, ['kustomize', repoPath('deploy/kubernetes')])).filter(isObj);
    expect(out.map((d) => d['kind']).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'DaemonSet', 'Namespace', 'PodMonitor', 'PrometheusRule', 'Service', 'ServiceAccount']);
    for (const d of out) if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(d['kind'] as string)) expect(at(d, 'metadata.namespace')).toBe('ethburst');
  });
});

describe('ACK RuleGroupsNamespace (checks from the prometheusservice CRD)', () => {
  const [doc] = docsOf('deploy/amp/rulegroupsnamespace.yaml');
  it('has the CRD shape: apiVersion/kind, spec.name pattern, a workspace, configuration as a string', () => {
    expect(kindOf(doc!)).toBe('prometheusservice.services.k8s.aws/v1alpha1 RuleGroupsNamespace');
    expect(at(doc, 'spec.name')).toMatch(/^[0-9A-Za-z][-.0-9A-Z_a-z]*$/);
    const spec = at(doc, 'spec') as Obj;
    expect(typeof spec['workspaceID'] === 'string' || isObj(spec['workspaceRef'])).toBe(true);
    expect(typeof spec['configuration']).toBe('string');
    for (const k of Object.keys(spec)) expect(['name', 'workspaceID', 'workspaceRef', 'configuration', 'tags']).toContain(k);
  });
  it('its configuration parses on its own as a rules file', () => {
    const groups = at(yamlOne(at(doc, 'spec.configuration') as string), 'groups') as Obj[];
    expect(groups.length).toBe(2);
  });
});

describe('ADOT OpenTelemetryCollector (checks from the operator CRD and collector docs)', () => {
  const col = docsOf('deploy/adot/collector.yaml').find((d) => d['kind'] === 'OpenTelemetryCollector')!;
  const config = at(col, 'spec.config') as Obj;
  const promConfig = at(config, 'receivers.prometheus.config') as Obj;
  const sd = () => ((promConfig['scrape_configs'] as Obj[])[0]!['kubernetes_sd_configs'] as Obj[])[0]!;

  it('is a v1beta1 DaemonSet collector with config as an object and NODE_NAME from the downward API', () => {
    expect(at(col, 'apiVersion')).toBe('opentelemetry.io/v1beta1');
    expect(at(col, 'spec.mode')).toBe('daemonset');
    expect(isObj(config)).toBe(true);
    expect(at(col, 'spec.env')).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    const sa = docsOf('deploy/adot/collector.yaml').find((d) => d['kind'] === 'ServiceAccount')!;
    expect(at(col, 'spec.serviceAccount')).toBe(at(sa, 'metadata.name'));
    expect(at(sa, 'metadata.annotations')).toHaveProperty(['eks.amazonaws.com/role-arn']);
  });

  it('scrapes only pods on its own node, annotation-driven, as job "ethburst"', () => {
    expect(sd()).toMatchObject({ role: 'pod', selectors: [{ role: 'pod', field: 'spec.nodeName=${env:NODE_NAME}' }] });
    const sc = (promConfig['scrape_configs'] as Obj[])[0]!;
    expect(sc['job_name']).toBe('ethburst');
    expect(JSON.stringify(sc['relabel_configs'])).toContain('__meta_kubernetes_pod_annotation_prometheus_io_scrape');
  });

  it('escapes every relabel capture group as $$ (a lone $ is env expansion)', () => {
    const text = readRepo('deploy/adot/collector.yaml');
    expect(text).not.toMatch(/(^|[^$])\$[0-9]/m);
    expect(text).toContain('$$1:$$2');
  });

  it('remote-writes to an AMP endpoint with sigv4auth declared and enabled; counters keep _total', () => {
    const prw = at(config, 'exporters.prometheusremotewrite') as Obj;
    expect(prw['endpoint']).toMatch(/^https:\/\/aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com\/workspaces\/ws-[^/]+\/api\/v1\/remote_write$/);
    expect(at(prw, 'auth.authenticator')).toBe('sigv4auth');
    expect(prw['add_metric_suffixes']).not.toBe(false);
    const region = /aps-workspaces\.([a-z0-9-]+)\./.exec(prw['endpoint'] as string)![1];
    expect(at(config, 'extensions.sigv4auth')).toMatchObject({ region, service: 'aps' });
    expect(at(config, 'service.extensions')).toContain('sigv4auth');
    const pipeline = at(config, 'service.pipelines.metrics') as { receivers: string[]; processors?: string[]; exporters: string[] };
    for (const r of pipeline.receivers) expect(at(config, 'receivers')).toHaveProperty([r]);
    for (const p of pipeline.processors ?? []) expect(at(config, 'processors')).toHaveProperty([p]);
    for (const e of pipeline.exporters) expect(at(config, 'exporters')).toHaveProperty([e]);
  });

  const SKIP = missing('promtool');
  const dir = new TempDir();
  afterAll(() => dir.remove());
  it.skipIf(SKIP !== '')(`the scrape config passes promtool check config once $$ and \${env:} are resolved${SKIP}`, () => {
    const resolved = JSON.parse(JSON.stringify(promConfig).replace(/\$\$/g, '$').replace(/\$\{env:NODE_NAME\}/g, 'ip-10-0-1-23.ec2.internal')) as Obj;
    // Debian's Prometheus is built without Kubernetes service discovery.
    for (const sc of resolved['scrape_configs'] as Obj[]) {
      delete sc['kubernetes_sd_configs'];
      sc['static_configs'] = [{ targets: ['127.0.0.1:19810'] }];
    }
    const file = dir.write('adot-prometheus.yml', yamlStringify(resolved));
    expect(ok(which('promtool')!, ['check', 'config', file])).toContain('SUCCESS');
  });
});

describe('Dockerfile', () => {
  const lines = readRepo('deploy/docker/Dockerfile')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  const stages: { from: string; name?: string; body: string[] }[] = [];
  for (const l of lines) {
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(l);
    if (m) stages.push({ from: m[1]!, ...(m[2] ? { name: m[2] } : {}), body: [] });
    else stages.at(-1)?.body.push(l);
  }
  const [build, runtime] = stages;

  it('has a build stage and a node:20-bookworm-slim runtime stage', () => {
    expect(stages).toHaveLength(2);
    expect(build!.name).toBe('build');
    expect(runtime!.from).toBe('node:20-bookworm-slim');
  });

  it('builds with g++/make/python3, npm ci, npm run build, then npm prune --omit=dev', () => {
    const text = build!.body.join('\n');
    expect(text).toMatch(/apt-get install[^\n]*g\+\+[^\n]*make[^\n]*python3/);
    expect(text.indexOf('npm ci')).toBeGreaterThan(-1);
    // The build is explicit, not left to whatever the install script does.
    expect(text.indexOf('npm run build')).toBeGreaterThan(text.indexOf('npm ci'));
    expect(text.indexOf('npm prune --omit=dev')).toBeGreaterThan(text.indexOf('npm run build'));
  });

  it('copies only the addon, build/dist, the live page, node_modules and package.json into the runtime', () => {
    const copies = runtime!.body.filter((l) => /^COPY\b/.test(l));
    const dests = copies.map((l) => {
      expect(l).toMatch(/^COPY --from=build /);
      return l.split(/\s+/).at(-1)!.replace(/^\.\//, '').replace(/\/$/, '');
    });
    expect(dests.sort()).toEqual(['build/Release/ethburst.node', 'build/dist', 'node_modules', 'package.json', 'src/page']);
    expect(runtime!.body.some((l) => /^(ADD|RUN)\b/.test(l))).toBe(false);
  });

  it("runs as 65534; the DaemonSet's args replace only CMD, so the command is the ENTRYPOINT", () => {
    expect(runtime!.body.filter((l) => l.startsWith('USER'))).toEqual(['USER 65534:65534']);
    const exec = (word: string) => {
      const found = runtime!.body.filter((l) => l.startsWith(`${word} `));
      expect(found, word).toHaveLength(1);
      return JSON.parse(found[0]!.slice(word.length).trim()) as string[];
    };
    expect(exec('ENTRYPOINT')).toEqual(['node', '/app/build/dist/src/cli.js']);
    expect(exec('CMD')).toEqual(['serve']);
    const pod = at(yamlOne(readRepo('deploy/kubernetes/daemonset.yaml')), 'spec.template.spec.containers') as Obj[];
    expect(pod[0]!['command']).toBeUndefined();
    expect(pod[0]!['args']).toEqual(['serve']);
  });

  it('the build stage copies every file the install script needs', () => {
    const pkg = JSON.parse(readRepo('package.json')) as { scripts: Record<string, string> };
    const copied = build!.body.filter((l) => l.startsWith('COPY')).join(' ');
    for (const f of ['package.json', 'package-lock.json', 'binding.gyp', 'tsconfig.build.json', 'native', 'src']) expect(copied).toContain(f);
    expect(pkg.scripts['build:ts']).toContain('tsconfig.build.json');
  });
});
