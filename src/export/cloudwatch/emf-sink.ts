// Where EMF records go: standard output (a log shipper, or the Lambda-style
// "JSON on stdout" collectors), or the CloudWatch agent's EMF listener over
// TCP or UDP (one record per line, as the agent reads them). A down, slow or
// refusing agent never reaches sampling: records wait in a bounded queue
// (the oldest give way to new ones, counted), a lost connection is retried
// with a doubling back-off, and nothing here is awaited by the sampler.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6, type Socket } from 'node:net';
import { FailureReport, type Logger } from '../../log.js';
import { oneLine } from '../../errors.js';

export type EmfKind = 'burst' | 'minute';
export const EMF_KINDS: readonly EmfKind[] = ['burst', 'minute'];

export type EmfDestination = { readonly kind: 'stdout' } | { readonly kind: 'tcp' | 'udp'; readonly host: string; readonly port: number };

/** stdout, tcp://HOST:PORT or udp://HOST:PORT (IPv6 hosts in brackets); null when it is none of them. */
export function parseEmfDestination(s: string): EmfDestination | null {
  if (s === 'stdout') return { kind: 'stdout' };
  const m = /^(tcp|udp):\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]\s]+):(\d{1,5})$/.exec(s);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return { kind: m[1] as 'tcp' | 'udp', host, port };
}

export function describeDestination(d: EmfDestination): string {
  if (d.kind === 'stdout') return 'stdout';
  return `${d.kind}://${isIPv6(d.host) ? `[${d.host}]` : d.host}:${d.port}`;
}

/** The specification's limit on a log event (and so on a record). */
export const MAX_RECORD_BYTES = 256 * 1024;
/** The largest UDP payload over IPv4 (65535 - 8 - 20). */
const MAX_DATAGRAM_BYTES = 65_507;
export const DEFAULT_QUEUE_RECORDS = 1000;
const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

export interface EmfSinkStats {
  /** Records handed to the destination (a TCP or stdout write accepted, a datagram sent), by kind. */
  readonly written: Readonly<Record<EmfKind, number>>;
  /** Records lost: queue full, too large, or a datagram the network refused. */
  readonly dropped: Readonly<Record<EmfKind, number>>;
  readonly queued: number;
  /** Connection attempts that failed or connections that broke (TCP). */
  readonly connectionFailures: number;
  readonly error: string | null;
}

export interface EmfSinkOptions {
  readonly stdout?: NodeJS.WritableStream;
  readonly queueRecords?: number;
  readonly log?: Logger;
  /** Back-off bounds, ms (shorter in tests). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

interface Pending {
  readonly kind: EmfKind;
  readonly data: Buffer;
}

export class EmfSink {
  private readonly queue: Pending[] = [];
  private readonly capacity: number;
  private readonly written: Record<EmfKind, number> = { burst: 0, minute: 0 };
  private readonly dropped: Record<EmfKind, number> = { burst: 0, minute: 0 };
  private connectionFailures = 0;
  private error: string | null = null;
  private readonly report = new FailureReport();
  private readonly log: Logger | undefined;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private backoffMs: number;
  private closed = false;
  /** The stream records are written to now (stdout, or a connected TCP socket); null while there is none. */
  private stream: NodeJS.WritableStream | null = null;
  private waitingDrain = false;
  private tcp: Socket | null = null;
  private udp: UdpSocket | null = null;
  /** A datagram is on its way (one at a time: its callback says whether it left). */
  private udpSending = false;
  private retry: NodeJS.Timeout | null = null;
  /** close() waiting for everything queued to be handed over. */
  private readonly settledWaiters: (() => void)[] = [];

  constructor(
    readonly destination: EmfDestination,
    opts: EmfSinkOptions = {},
  ) {
    this.capacity = opts.queueRecords ?? DEFAULT_QUEUE_RECORDS;
    this.log = opts.log;
    this.minBackoffMs = opts.minBackoffMs ?? MIN_BACKOFF_MS;
    this.maxBackoffMs = opts.maxBackoffMs ?? MAX_BACKOFF_MS;
    this.backoffMs = this.minBackoffMs;
    if (destination.kind === 'stdout') {
      const out = opts.stdout ?? process.stdout;
      out.on('error', (err: Error) => this.broken(err, false));
      out.on('drain', () => this.drained());
      this.stream = out;
    } else if (destination.kind === 'tcp') {
      this.connect();
    } else {
      this.openUdp();
    }
  }

  /** A record to send (one JSON object; the newline is added here). Never blocks, never throws. */
  write(kind: EmfKind, json: string): void {
    if (this.closed) return;
    const data = Buffer.from(json + '\n');
    const limit = this.destination.kind === 'udp' ? MAX_DATAGRAM_BYTES : MAX_RECORD_BYTES;
    if (data.length > limit) {
      this.dropped[kind]++;
      this.log?.log('warn', 'EMF record too large; dropped', { kind, bytes: data.length, limit });
      return;
    }
    if (this.queue.length >= this.capacity) {
      // The newest say the most about now: the oldest give way.
      this.dropped[this.queue.shift()!.kind]++;
    }
    this.queue.push({ kind, data });
    this.pump();
  }

  stats(): EmfSinkStats {
    return { written: { ...this.written }, dropped: { ...this.dropped }, queued: this.queue.length, connectionFailures: this.connectionFailures, error: this.error };
  }

  /** Sends what is queued, waiting at most `deadlineMs` for a destination; what is still queued then is counted as dropped. */
  async close(deadlineMs = 2000): Promise<void> {
    const until = Date.now() + deadlineMs;
    if (this.busy()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => this.settledWaiters.push(resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
      clearTimeout(timer);
    }
    this.closed = true;
    for (const p of this.queue.splice(0)) this.dropped[p.kind]++;
    if (this.retry) clearTimeout(this.retry);
    const tcp = this.tcp;
    if (tcp) {
      // end() flushes what the socket holds; a peer that never reads gets destroyed at the deadline.
      const gone = new Promise<void>((resolve) => tcp.once('close', () => resolve()));
      if (this.stream === tcp) tcp.end();
      else tcp.destroy();
      const timer = setTimeout(() => tcp.destroy(), Math.max(0, until - Date.now()) + 100);
      await gone;
      clearTimeout(timer);
    }
    this.udp?.close();
  }

  /** Records still to be handed over: queued, a datagram in flight, or a stream asking to wait. */
  private busy(): boolean {
    return this.queue.length > 0 || this.udpSending || this.waitingDrain;
  }

  private pump(): void {
    if (this.destination.kind === 'udp') this.sendDatagrams();
    else this.writeStream();
    if (!this.busy()) for (const resolve of this.settledWaiters.splice(0)) resolve();
  }

  private writeStream(): void {
    const out = this.stream;
    if (out === null || this.waitingDrain) return;
    while (this.queue.length > 0) {
      const p = this.queue.shift()!;
      this.written[p.kind]++;
      if (!out.write(p.data)) {
        this.waitingDrain = true;
        return;
      }
    }
  }

  private drained(): void {
    this.waitingDrain = false;
    this.pump();
  }

  private connect(): void {
    if (this.closed || this.destination.kind !== 'tcp') return;
    const { host, port } = this.destination;
    const s = connect({ host, port });
    this.tcp = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.backoffMs = this.minBackoffMs;
      this.error = null;
      if (this.report.recovered()) this.log?.log('info', 'EMF destination reachable again', { destination: describeDestination(this.destination) });
      this.stream = s;
      this.waitingDrain = false;
      this.pump();
    });
    s.on('drain', () => this.drained());
    s.on('error', (err) => this.broken(err, true));
    s.on('close', () => {
      if (this.tcp !== s) return;
      this.tcp = null;
      this.stream = null;
      this.waitingDrain = false;
      if (this.closed) return;
      // A close without an error (the agent hung up) is a failure too.
      if (this.error === null) this.broken(new Error('connection closed by peer'), true);
      this.retry = setTimeout(() => this.connect(), this.backoffMs);
      this.retry.unref();
      this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
    });
  }

  private openUdp(): void {
    if (this.destination.kind !== 'udp') return;
    const { host, port } = this.destination;
    const s = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    this.udp = s;
    s.on('error', (err) => this.broken(err, false));
    // Connected, so a refusing port (ICMP unreachable) fails the next send instead of vanishing.
    s.connect(port, host, () => this.pump());
    s.unref();
  }

  private sendDatagrams(): void {
    const s = this.udp;
    if (s === null || this.udpSending) return;
    try {
      s.remoteAddress();
    } catch {
      return; // not connected yet: the connect callback sends
    }
    // One datagram at a time: a send's callback says whether it left.
    const p = this.queue.shift();
    if (!p) return;
    this.udpSending = true;
    s.send(p.data, (err) => {
      this.udpSending = false;
      if (err) {
        this.dropped[p.kind]++;
        this.broken(err, false);
      } else {
        this.written[p.kind]++;
        if (this.error !== null) {
          this.error = null;
          if (this.report.recovered()) this.log?.log('info', 'EMF destination reachable again', { destination: describeDestination(this.destination) });
        }
      }
      this.pump();
    });
  }

  private broken(err: Error, connection: boolean): void {
    const code = (err as NodeJS.ErrnoException).code ?? oneLine(err);
    if (connection) this.connectionFailures++;
    this.error = code;
    if (this.report.failed(code)) this.log?.log('warn', 'EMF destination failing; records wait in the queue (the oldest are dropped when it is full)', { error: code, queue: this.capacity });
    if (this.destination.kind === 'stdout') {
      // A closed stdout does not come back: what would go there is dropped, counted.
      this.stream = null;
      this.waitingDrain = false;
      for (const p of this.queue.splice(0)) this.dropped[p.kind]++;
      this.pump();
    }
  }
}
