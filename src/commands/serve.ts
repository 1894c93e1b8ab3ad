// ethburst serve: sample, aggregate, and serve /metrics plus the JSON API.
// This is `npm start` and the DaemonSet's process.

import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { defineCommand } from '../cli/command.js';
import { backoffFrom, checkDiscovery, deviceFlags, fakeDeviceNames, intervalFlag, selectionFrom } from '../cli/device-flags.js';
import { samplingNotice } from '../sampling/discovery.js';
import { UsageError, oneLine } from '../errors.js';
import { CaptureDir, checkCaptureDir } from '../export/capture-dir.js';
import { Exporter } from '../export/exporter.js';
import { formatDuration } from '../cli/duration.js';
import { DeviceRegistry } from '../state/device-registry.js';
import { exportedStatMatcher, statPolicyView, trackedStatMatcher } from '../aggregation/stat-policy.js';
import { createLogger, type LogFormat, type LogLevel } from '../log.js';
import { pageAssets } from '../page/assets.js';
import { ReplaySource } from '../sources/replay.js';
import { NativeSource } from '../sampling/native-source.js';
import { LinkPoller } from '../talkers/link-poller.js';
import { kubeApiFrom, kubernetesFlags, nodeEventsFlags, startPodDirectory } from '../cli/kubernetes-flags.js';
import { NodeEvents } from '../kubernetes/node-events.js';
import type { StatsSource } from '../sampling/sample.js';
import { createServer, parseListen, type WebServer } from '../export/server.js';
import { loadWebConfig, WebConfigSource } from '../export/web-config.js';
import { SimulateSource, type SimBurst } from '../sources/simulate.js';
import { version } from '../version.js';
import { AGENT_PORT, DEFAULT_LOG_GROUP, DEFAULT_NAMESPACE, logGroupProblem, namespaceProblem } from '../export/cloudwatch/emf.js';
import { DEFAULT_QUEUE_RECORDS, EmfSink, describeDestination, parseEmfDestination } from '../export/cloudwatch/emf-sink.js';
import { EmfOutput } from '../export/cloudwatch/emf-output.js';
import { instanceId } from '../export/cloudwatch/instance.js';

export const DEFAULT_LISTEN = '0.0.0.0:19810';
/**
 * How often the native ring is drained while no burst is open (every 200 ms
 * while one is): a drain wakes the event loop, and requests catch up first.
 */
export const IDLE_DRAIN_MS = 1000;

/** A simulate script: bursts at offsets from the start of `serve`. */
interface ScriptEntry {
  device: string;
  stat: string;
  at_ms: number;
  duration_ms: number;
  packets: number;
}

function readScript(path: string, startMs: number): SimBurst[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--simulate-script ${path}: ${(err as NodeJS.ErrnoException).code ?? oneLine(err)}`);
  }
  if (!Array.isArray(parsed)) throw new UsageError(`--simulate-script ${path}: expected a JSON array of {device, stat, at_ms, duration_ms, packets}`);
  return parsed.map((e: Partial<ScriptEntry>, i) => {
    const ok =
      typeof e.device === 'string' &&
      typeof e.stat === 'string' &&
      [e.at_ms, e.duration_ms, e.packets].every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0);
    if (!ok) throw new UsageError(`--simulate-script ${path}: entry ${i} needs device, stat, at_ms, duration_ms, packets`);
    return { device: e.device!, stat: e.stat!, startMs: startMs + e.at_ms!, durationMs: e.duration_ms!, packets: e.packets! };
  });
}

export default defineCommand({
  name: 'serve',
  summary: 'Sample NIC statistics every interval, find bursts, and serve Prometheus metrics and a JSON API.',
  usage: '[--listen HOST:PORT] [--interval 100ms] [--source native|simulate|replay:FILE] [flags]',
  flags: {
    listen: {
      type: 'string',
      default: DEFAULT_LISTEN,
      valueName: 'HOST:PORT',
      help: 'address to serve HTTP on (port 0: any free port)',
      check: (v) => (parseListen(v) ? null : `"${v}" is not HOST:PORT (e.g. 0.0.0.0:19810, 127.0.0.1:9999, [::]:19810)`),
    },
    'api-listen': {
      type: 'string',
      valueName: 'HOST:PORT',
      help: 'serve /api/* and the live page here instead (e.g. 127.0.0.1:19811 for kubectl port-forward); --listen then serves only /metrics, /healthz, /readyz',
      check: (v) => (parseListen(v) ? null : `"${v}" is not HOST:PORT (e.g. 127.0.0.1:19811)`),
    },
    'web-config': {
      type: 'string',
      valueName: 'FILE',
      help: 'TLS and basic auth for both listeners, in the Prometheus exporter-toolkit web config format',
    },
    ...intervalFlag,
    ...deviceFlags,
    'stat-include': { type: 'regex', repeatable: true, valueName: 'RE', help: 'also export raw stats matching (. for all)' },
    'stat-exclude': { type: 'regex', repeatable: true, valueName: 'RE', help: 'never export raw stats matching' },
    'burst-stat': { type: 'regex', repeatable: true, valueName: 'RE', help: 'also find bursts in stats matching (default: *_allowance_exceeded)' },
    'burst-gap': { type: 'duration', default: '2s', min: 1, max: 3_600_000, help: 'increases closer than this belong to one burst' },
    source: { type: 'string', default: 'native', valueName: 'SOURCE', help: 'native, simulate, or replay:FILE' },
    'replay-speed': { type: 'string', default: 'recorded', choices: ['recorded', 'fast'], help: 'replay at the recorded pace or as fast as possible' },
    'simulate-devices': { type: 'int', default: '1', min: 1, max: 256, help: 'simulated ENA devices (--source simulate)' },
    'simulate-pods': { type: 'int', default: '3', min: 0, max: 8, help: 'simulated pods behind eth0, each burst with a known top pod (--source simulate)' },
    'simulate-seed': { type: 'int', default: '1', min: 0, max: 2 ** 31 - 1, help: 'seed for simulated bursts' },
    'simulate-script': { type: 'string', valueName: 'FILE', help: 'JSON [{device, stat, at_ms, duration_ms, packets}]: scripted bursts instead of random ones' },
    'recorder-span': { type: 'duration', default: '15m', min: 0, max: 24 * 3_600_000, help: 'history the flight recorder keeps of every device and the node, in memory (0: no recorder, no captures)' },
    'capture-before': { type: 'duration', default: '30s', min: 0, max: 3_600_000, help: "a burst's capture starts this long before it" },
    'capture-after': { type: 'duration', default: '30s', min: 0, max: 3_600_000, help: '... and ends this long after it' },
    'capture-memory': { type: 'int', default: '32', min: 1, max: 65_536, valueName: 'MiB', help: 'memory for the captures of devices that went away (copied out of their rings); the oldest go first' },
    'capture-dir': { type: 'string', valueName: 'DIR', help: 'also write every capture to DIR as a trace file (DIR must exist and be writable)' },
    'capture-dir-max': { type: 'int', default: '256', min: 1, max: 1_048_576, valueName: 'MiB', help: 'size cap of --capture-dir; the oldest captures are deleted first' },
    'node-name': { type: 'string', valueName: 'NAME', help: "the node's name on ethtool_info, in pod lookups and on Events (default: $NODE_NAME, as the DaemonSet sets it from spec.nodeName, else the host name)" },
    ...kubernetesFlags,
    ...nodeEventsFlags,
    emf: {
      type: 'string',
      valueName: 'DEST',
      help: `also write CloudWatch Embedded Metric Format records (a record per burst, one per device per minute) to stdout, tcp://HOST:PORT or udp://HOST:PORT (the CloudWatch agent listens on ${AGENT_PORT})`,
      check: (v) => (parseEmfDestination(v) ? null : `"${v}" is not stdout, tcp://HOST:PORT or udp://HOST:PORT (e.g. tcp://127.0.0.1:${AGENT_PORT})`),
    },
    'emf-namespace': { type: 'string', default: DEFAULT_NAMESPACE, valueName: 'NS', help: 'CloudWatch namespace of the EMF metrics', check: namespaceProblem },
    'emf-log-group': { type: 'string', default: DEFAULT_LOG_GROUP, valueName: 'NAME', help: 'log group the CloudWatch agent writes the EMF records to', check: logGroupProblem },
    'emf-queue': { type: 'int', default: String(DEFAULT_QUEUE_RECORDS), min: 1, max: 1_000_000, valueName: 'RECORDS', help: 'EMF records kept while the destination is down or slow; the oldest are dropped beyond it (ethburst_emf_records_total{result="dropped"})' },
    compat: { type: 'string', choices: ['showmax'], help: 'also emit node_net_ethtool{device,type} as prometheus-ethtool-exporter did' },
    'log-format': { type: 'string', default: 'text', choices: ['text', 'json'], help: 'log line format on stderr' },
    'log-level': { type: 'string', default: 'info', choices: ['debug', 'info', 'warn', 'error'], help: 'least severe level logged' },
  },
  async run(flags, _positionals, io) {
    const listen = parseListen(flags.listen)!;
    const apiListen = flags['api-listen'] !== undefined ? parseListen(flags['api-listen'])! : null;
    const log = createLogger({ format: flags['log-format'] as LogFormat, level: flags['log-level'] as LogLevel, out: io.stderr });
    // A bad web config is a usage error before anything starts (exit 2).
    const webFile = flags['web-config'];
    const web =
      webFile !== undefined
        ? new WebConfigSource(loadWebConfig(webFile), {
            onError: (error) => log.log('error', 'web config reload failed; the previous one stays in force', { file: webFile, error }),
          })
        : undefined;
    const captureDirPath = flags['capture-dir'];
    if (captureDirPath !== undefined) {
      if (flags['recorder-span'] === 0) throw new UsageError('--capture-dir needs the flight recorder: --recorder-span must not be 0');
      checkCaptureDir(captureDirPath);
    }
    if (flags['recorder-span'] > 0 && flags['recorder-span'] < flags['capture-before'] + flags['capture-after'] + flags['burst-gap']) {
      throw new UsageError(`--recorder-span ${formatDuration(flags['recorder-span'])} is shorter than a capture (--capture-before + --capture-after + --burst-gap)`);
    }
    const kube = kubeApiFrom(flags, io.env);
    // Off contradicts it; auto outside a cluster (the image run by hand) only means no Events here.
    if (flags['node-events'] && flags.kubernetes === 'off') throw new UsageError('--node-events needs the Kubernetes API, and --kubernetes is off');
    const trackedStat = trackedStatMatcher(flags['burst-stat']);
    const exportStat = exportedStatMatcher({ burstStats: flags['burst-stat'], include: flags['stat-include'], exclude: flags['stat-exclude'] });

    // Set once the registry exists; the drain timer asks only after run() starts.
    let burstOpen = (): boolean => true;
    // Every usage problem is found before anything starts.
    let source: StatsSource;
    let native: NativeSource | null = null;
    let sourceName = flags.source;
    if (flags.source === 'native') {
      native = new NativeSource({
        intervalMs: flags.interval,
        selection: selectionFrom(flags),
        rescanMs: flags.rescan,
        backoff: backoffFrom(flags),
        extraDevices: fakeDeviceNames(io.env),
        log,
        idleDrainMs: IDLE_DRAIN_MS,
        busy: () => burstOpen(),
      });
      const found = await native.prepare();
      checkDiscovery(found, flags['device-include'].length > 0);
      const notice = samplingNotice(found.selected.map((c) => c.info), flags['burst-stat'].length > 0);
      if (notice) log.log('warn', notice);
      if (found.selected.length === 0) log.log('warn', 'no interface matches yet; waiting for a re-scan to find one', { rescan_ms: flags.rescan });
      source = native;
    } else if (flags.source === 'simulate') {
      const startMs = Math.ceil(Date.now() / flags.interval) * flags.interval;
      const script = flags['simulate-script'] !== undefined ? readScript(flags['simulate-script'], startMs) : undefined;
      source = new SimulateSource({
        devices: flags['simulate-devices'],
        intervalMs: flags.interval,
        clock: 'realtime',
        startMs,
        seed: flags['simulate-seed'],
        pods: flags['simulate-pods'],
        ...(script ? { script, randomBursts: false } : {}),
      });
      sourceName = `simulate (${flags['simulate-devices']} ENA device${flags['simulate-devices'] === 1 ? '' : 's'})`;
    } else if (flags.source.startsWith('replay:')) {
      const file = flags.source.slice('replay:'.length);
      try {
        if (!statSync(file).isFile()) throw new UsageError(`--source ${flags.source}: not a file`);
      } catch (err) {
        if (err instanceof UsageError) throw err;
        throw new UsageError(`--source ${flags.source}: ${(err as NodeJS.ErrnoException).code ?? oneLine(err)}`);
      }
      source = new ReplaySource(file, { speed: flags['replay-speed'] as 'recorded' | 'fast' });
    } else {
      throw new UsageError(`--source: "${flags.source}" is not native, simulate or replay:FILE`);
    }

    const registry = new DeviceRegistry({
      intervalMs: flags.interval,
      burstGapMs: flags['burst-gap'],
      trackedStat,
      ...(native ? { sourceCounters: () => native.counters } : {}),
      recorder:
        flags['recorder-span'] === 0
          ? null
          : { spanMs: flags['recorder-span'], preMs: flags['capture-before'], postMs: flags['capture-after'], captureMemoryBytes: flags['capture-memory'] * 1024 * 1024 },
    });
    burstOpen = () => registry.aggregator.anyOpenBurst();
    const captureDir = captureDirPath !== undefined ? new CaptureDir(captureDirPath, flags['capture-dir-max'] * 1024 * 1024, log) : null;
    if (captureDir) registry.addListener({ onCapture: (c) => void captureDir.write(c) });
    const nodeName = flags['node-name'] ?? (io.env['NODE_NAME'] || hostname());
    const directory = native ? startPodDirectory(kube.api, nodeName, log) : null;
    // Node events: off the sampling path (calls with deadlines, failures counted and retried).
    if (flags['node-events'] && kube.api === null) log.log('warn', 'no Kubernetes API here: no Node events', { kubernetes: kube.why });
    const events = flags['node-events'] && kube.api ? new NodeEvents({ api: kube.api, nodeName, minDrops: flags['node-events-min-drops'], minWriteIntervalMs: flags['node-events-interval'], log }) : null;
    if (events) registry.addListener({ onBurst: (e) => events.onBurst(e) });
    const kubernetes = { pods: directory ? () => directory.stats() : null, events: events ? () => events.stats() : null };
    const emfDestination = flags.emf !== undefined ? parseEmfDestination(flags.emf)! : null;
    const emf = emfDestination
      ? new EmfOutput(registry, new EmfSink(emfDestination, { stdout: io.stdout, queueRecords: flags['emf-queue'], log }), {
          namespace: flags['emf-namespace'],
          logGroup: flags['emf-log-group'],
          nodeName,
          properties: instanceIdProperty(),
        })
      : null;
    const exporter = new Exporter(registry, { exportStat, compatShowmax: flags.compat === 'showmax', log, version: version(), captureDir, nodeName, kubernetes, emf: emf ? () => emf.stats() : null });
    // notice: the page's banner, in the words of the startup log line, for the devices sampled now.
    const notice = (): string | null => (native ? samplingNotice(registry.views(), flags['burst-stat'].length > 0) : null);
    // The pods behind each burst (src/talkers/): only where the kernel is sampled; named where the Kubernetes API says.
    const pods = native
      ? new LinkPoller({
          addon: native.addon,
          burstOpen: () => registry.aggregator.anyOpenBurst(),
          ready: () => registry.allSampled(),
          log,
          ...(directory ? { podOf: (ip: string) => directory.lookup(ip) } : {}),
        })
      : null;
    const describe = () => ({
      source: sourceName,
      intervalMs: flags.interval,
      notice: notice(),
      ...(pods ? { links: pods.stats() } : {}),
      ...(kube.api ? { kubernetes: { api: kube.why, pods: directory?.stats() ?? null, events: events?.stats() ?? null } } : {}),
    });
    const assets = pageAssets();
    const servers: WebServer[] = [];
    const policy = statPolicyView(flags['burst-stat']);
    const dirNote = captureDirPath !== undefined ? { captureDir: captureDirPath } : {};
    // The ring is drained every second while no burst is open; a request drains it first.
    const catchUp = native ? { catchUp: () => native.catchUp() } : {};
    const server = createServer({ exporter, log, describe, assets, policy, role: apiListen ? 'node' : 'all', ...dirNote, ...catchUp, ...(web ? { web } : {}) });
    servers.push(server);
    const port = await listenOn(server, listen[0], listen[1]);
    const fields: Record<string, unknown> = { listen: `${listen[0]}:${port}` };
    if (apiListen) {
      // The same web config (TLS, basic auth) guards the API listener too:
      // loopback is reachable by every pod on a hostNetwork node.
      const api = createServer({ exporter, log, describe, assets, policy, role: 'all', ...dirNote, ...catchUp, ...(web ? { web } : {}) });
      servers.push(api);
      try {
        fields['api_listen'] = `${apiListen[0]}:${await listenOn(api, apiListen[0], apiListen[1])}`;
      } catch (err) {
        // The node port is already open; it must not keep the process alive.
        server.close();
        throw err;
      }
    }
    const wc = web?.current();
    log.log('info', 'serving', {
      ...fields,
      tls: wc?.tls != null,
      basic_auth_users: wc?.users.size ?? 0,
      source: sourceName,
      interval_ms: flags.interval,
      // The flight recorder's bounds (its ethburst_recorder_* and ethburst_capture_* metrics say how full).
      recorder_span_s: flags['recorder-span'] / 1000,
      kubernetes: kube.why,
      node_events: events !== null,
      ...(emfDestination ? { emf: describeDestination(emfDestination), emf_namespace: flags['emf-namespace'] } : {}),
      ...(flags['recorder-span'] > 0 ? { capture_memory_mib: flags['capture-memory'] } : {}),
      ...(captureDir ? { capture_dir: captureDir.dir, capture_dir_max_mib: flags['capture-dir-max'] } : {}),
      version: version(),
    });

    pods?.start(registry);
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      pods?.stop();
      directory?.stop();
      source.stop();
    };
    io.signal.addEventListener('abort', stop, { once: true });
    let failure: Error | null = null;
    try {
      await source.run(registry);
      if (!stopping) {
        // End of input finishes open bursts; the replay's results stay served.
        registry.finish();
        log.log('info', 'source finished; still serving', { source: sourceName });
        await new Promise<void>((resolve) => {
          if (io.signal.aborted) resolve();
          else io.signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    } finally {
      io.signal.removeEventListener('abort', stop);
      // Open bursts are finished and logged (and their captures written) before we go.
      registry.finish();
      await Promise.all([captureDir?.idle(), events?.close(), emf?.close()]);
      await Promise.all(
        servers.map((s) => {
          s.closeAllConnections();
          return new Promise<void>((resolve) => s.close(() => resolve()));
        }),
      );
    }
    if (failure) throw failure;
    log.log('info', 'stopped');
    return 0;
  },
});

/** InstanceId on every EMF record where the machine says it (Nitro: the DMI asset tag), without asking the network. */
function instanceIdProperty(): Record<string, string> {
  const id = instanceId();
  return id ? { InstanceId: id } : {};
}

/** Listens and returns the port bound (the ephemeral one for port 0). */
function listenOn(server: WebServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'address already in use' : (err.code ?? err.message)}`)),
    );
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
