// Stand-ins for the CloudWatch agent's EMF listener (TCP and UDP on
// loopback): they collect the records, one per line, and can be killed and
// brought back on the same port. Only the listening is stood in for; what the
// agent does next (CloudWatch Logs, metric extraction) is not reachable here.

import { createServer, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';

/** A TCP stand-in for the agent: collects lines; can be killed and brought back on the same port. */
export class TcpAgent {
  readonly lines: string[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async start(port = 0): Promise<void> {
    const server = createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      let buf = '';
      s.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        const parts = buf.split('\n');
        buf = parts.pop()!;
        this.lines.push(...parts);
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async kill(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const c of this.sockets) c.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

export class UdpAgent {
  readonly lines: string[] = [];
  private socket: UdpSocket | null = null;
  port = 0;

  async start(port = 0): Promise<void> {
    const s = createSocket('udp4');
    s.on('message', (m) => this.lines.push(...m.toString('utf8').split('\n').filter((l) => l !== '')));
    await new Promise<void>((resolve) => s.bind(port, '127.0.0.1', resolve));
    this.port = s.address().port;
    this.socket = s;
  }

  async kill(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((resolve) => s.close(resolve));
  }
}

