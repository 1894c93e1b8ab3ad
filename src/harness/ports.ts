// Free loopback ports, for programs that need a fixed one (node_exporter,
// Prometheus, Alertmanager). ethburst itself listens on port 0 and says
// which port it got.

import { createServer } from 'node:net';

/** A loopback port that was free a moment ago (closed again before it is returned; callers retry on a lost race). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
