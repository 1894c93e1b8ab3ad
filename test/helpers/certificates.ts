// A throwaway CA and a server certificate for 127.0.0.1 signed by it, made
// with the real openssl: for the TLS scrape tests and the Kubernetes API
// stand-in, which a client must trust through its ca.crt as a pod does.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const OPENSSL = '/usr/bin/openssl';
export const opensslMissing = existsSync(OPENSSL) ? null : `${OPENSSL} not found (apt-get install openssl)`;

function openssl(dir: string, args: string[]): void {
  const r = spawnSync(OPENSSL, args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** In `dir`: ca.crt (and ca.key), tls/server.crt and tls/server.key for 127.0.0.1 and localhost. */
export function makeCertificates(dir: string): void {
  mkdirSync(join(dir, 'tls'), { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=ethburst test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(dir, ['req', ...ec, '-keyout', 'tls/server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls/server.crt', '-days', '2', '-extfile', 'ext.cnf']);
}
