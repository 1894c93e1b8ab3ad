// `serve --web-config FILE`: TLS and basic auth in the Prometheus
// exporter-toolkit web configuration format, so the scrape_config (tls_config,
// basic_auth) and the Secret an operator already writes for node_exporter
// work unchanged for ethburst.
//
// What is honoured: tls_server_config (cert_file/key_file or inline cert/key,
// client_auth_type NoClientCert or RequireAndVerifyClientCert with
// client_ca_file/client_ca, min_version, max_version,
// prefer_server_cipher_suites), http_server_config.headers, and
// basic_auth_users (bcrypt hashes). What we cannot honour the same way is
// refused by name rather than silently ignored: cipher_suites and
// curve_preferences use Go's names, client_allowed_sans and rate_limit are not
// implemented. http2 is accepted and ignored (we serve HTTP/1.1 only).
// Unknown keys are errors, as exporter-toolkit's strict YAML decoding makes
// them.
//
// Like exporter-toolkit, relative file names resolve against the directory of
// the web config file. exporter-toolkit re-reads the file on every request;
// we re-check it (and the certificate files) at most once a second by
// stat(), reloading when one changed, so a rotated Secret is picked up
// without a restart. A file that turns bad after start-up keeps the last good
// configuration in force (logged) instead of failing open or closed.

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureVersion } from 'node:tls';
import { createRequire } from 'node:module';
import { UsageError, oneLine } from '../errors.js';

// Loaded on first use: serve without --web-config (the default) never pays
// their ~10 MB of resident memory.
const requireLazily = createRequire(import.meta.url);
let bcryptModule: Promise<typeof import('bcryptjs')['default']> | undefined;
function bcrypt(): Promise<typeof import('bcryptjs')['default']> {
  bcryptModule ??= import('bcryptjs').then((m) => m.default);
  return bcryptModule;
}
function parseYaml(text: string, options: import('yaml').ParseOptions & import('yaml').DocumentOptions): unknown {
  return (requireLazily('yaml') as typeof import('yaml')).parse(text, options);
}

export interface TlsSettings {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  readonly requestCert: boolean;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  readonly honorCipherOrder: boolean;
}

export interface WebConfig {
  readonly file: string;
  readonly tls: TlsSettings | null;
  /** Username → bcrypt hash; empty means no authentication. */
  readonly users: ReadonlyMap<string, string>;
  /** http_server_config.headers, added to (and overriding) our defaults. */
  readonly headers: Readonly<Record<string, string>>;
  /** Files whose change means "reload" (the config itself and the TLS files). */
  readonly watched: readonly string[];
}

const VERSIONS: Record<string, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };
// exporter-toolkit accepts only these header names.
const HEADERS = ['Content-Security-Policy', 'X-Frame-Options', 'X-Content-Type-Options', 'X-XSS-Protection', 'Strict-Transport-Security'];
const BCRYPT = /^\$2[abxy]?\$[0-9]{2}\$[./A-Za-z0-9]{53}$/;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and checks the file; throws UsageError "--web-config FILE: problem". */
export function loadWebConfig(file: string): WebConfig {
  const bad = (problem: string): never => {
    throw new UsageError(`--web-config ${file}: ${problem}`);
  };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return bad((err as NodeJS.ErrnoException).code ?? oneLine(err));
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    return bad(`not valid YAML: ${oneLine((err as Error).message)}`);
  }
  // An empty file is a valid exporter-toolkit config: plain HTTP, no auth.
  if (doc === null || doc === undefined) doc = {};
  if (!isObj(doc)) return bad('expected a mapping with tls_server_config, http_server_config and/or basic_auth_users');
  const base = dirname(resolve(file));
  const path = (p: string): string => resolve(base, p);
  const watched = [resolve(file)];
  const unknown = (o: Obj, allowed: string[], where: string): void => {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) bad(`${where}${k}: unknown field (allowed: ${allowed.join(', ')})`);
  };
  const refused: Record<string, string> = {
    rate_limit: 'rate_limit is not supported by ethburst; remove it',
  };
  for (const k of Object.keys(doc)) if (refused[k]) bad(refused[k]);
  unknown(doc, ['tls_server_config', 'http_server_config', 'basic_auth_users'], '');

  const str = (o: Obj, k: string, where: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') return bad(`${where}${k}: expected a non-empty string`);
    return v;
  };
  const read = (p: string, what: string): Buffer => {
    const full = path(p);
    try {
      const b = readFileSync(full);
      watched.push(full);
      return b;
    } catch (err) {
      return bad(`${what} ${full}: ${(err as NodeJS.ErrnoException).code ?? oneLine(err)}`);
    }
  };

  let tls: TlsSettings | null = null;
  const t = doc['tls_server_config'];
  if (t !== undefined && t !== null) {
    const w = 'tls_server_config.';
    if (!isObj(t)) return bad('tls_server_config: expected a mapping');
    const notHere: Record<string, string> = {
      cipher_suites: 'cipher_suites uses Go cipher names that ethburst (OpenSSL) cannot map; remove it to get Node defaults (TLS 1.2+ AEAD suites)',
      curve_preferences: 'curve_preferences is not supported by ethburst; remove it',
      client_allowed_sans: 'client_allowed_sans is not supported by ethburst; remove it',
    };
    for (const k of Object.keys(t)) if (notHere[k] && t[k] !== null && !(Array.isArray(t[k]) && (t[k] as unknown[]).length === 0)) bad(`${w}${notHere[k]}`);
    unknown(t, ['cert', 'key', 'client_ca', 'cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'min_version', 'max_version', 'prefer_server_cipher_suites', ...Object.keys(notHere)], w);
    const certFile = str(t, 'cert_file', w);
    const keyFile = str(t, 'key_file', w);
    const certInline = str(t, 'cert', w);
    const keyInline = str(t, 'key', w);
    if (certFile && certInline) bad(`${w}cert and cert_file are mutually exclusive`);
    if (keyFile && keyInline) bad(`${w}key and key_file are mutually exclusive`);
    if (!certFile && !certInline) bad(`${w}cert_file (or cert) is required`);
    if (!keyFile && !keyInline) bad(`${w}key_file (or key) is required`);
    const cert = certFile ? read(certFile, 'cert_file') : Buffer.from(certInline!);
    const key = keyFile ? read(keyFile, 'key_file') : Buffer.from(keyInline!);
    const authType = str(t, 'client_auth_type', w) ?? 'NoClientCert';
    const caFile = str(t, 'client_ca_file', w);
    const caInline = str(t, 'client_ca', w);
    if (caFile && caInline) bad(`${w}client_ca and client_ca_file are mutually exclusive`);
    const ca = caFile ? read(caFile, 'client_ca_file') : caInline ? Buffer.from(caInline) : undefined;
    let requestCert = false;
    if (authType === 'RequireAndVerifyClientCert') {
      if (!ca) bad(`${w}client_auth_type RequireAndVerifyClientCert needs client_ca_file`);
      requestCert = true;
    } else if (authType !== 'NoClientCert') {
      // The in-between Go policies accept unverified or absent certificates;
      // exporter-toolkit itself calls them insecure.
      bad(`${w}client_auth_type: "${authType}" is not supported (use NoClientCert or RequireAndVerifyClientCert)`);
    } else if (ca) {
      bad(`${w}client_ca_file is set but client_auth_type is NoClientCert (set RequireAndVerifyClientCert)`);
    }
    const version = (k: string, dflt: string): SecureVersion => {
      const v = str(t, k, w) ?? dflt;
      const mapped = VERSIONS[v];
      if (!mapped) return bad(`${w}${k}: "${v}" is not one of ${Object.keys(VERSIONS).join(', ')}`);
      return mapped;
    };
    const minVersion = version('min_version', 'TLS12');
    const maxVersion = version('max_version', 'TLS13');
    if (Number(minVersion.replace(/^TLSv1\.?/, '') || 0) > Number(maxVersion.replace(/^TLSv1\.?/, '') || 0)) bad(`${w}min_version is above max_version`);
    const prefer = t['prefer_server_cipher_suites'];
    if (prefer !== undefined && prefer !== null && typeof prefer !== 'boolean') bad(`${w}prefer_server_cipher_suites: expected true or false`);
    tls = { cert, key, ...(ca ? { ca } : {}), requestCert, minVersion, maxVersion, honorCipherOrder: prefer !== false };
    // A key that does not match, or a file that is not PEM, is a start-up
    // error naming the file, not a crash when the listener is created.
    try {
      createSecureContext({ cert, key, ...(ca ? { ca } : {}), minVersion, maxVersion });
    } catch (err) {
      bad(`tls_server_config: ${certFile ?? 'cert'} / ${keyFile ?? 'key'}: ${oneLine((err as Error).message)}`);
    }
  }

  const headers: Record<string, string> = {};
  const h = doc['http_server_config'];
  if (h !== undefined && h !== null) {
    const w = 'http_server_config.';
    if (!isObj(h)) return bad('http_server_config: expected a mapping');
    unknown(h, ['http2', 'headers'], w);
    if (h['http2'] !== undefined && h['http2'] !== null && typeof h['http2'] !== 'boolean') bad(`${w}http2: expected true or false`);
    const hs = h['headers'];
    if (hs !== undefined && hs !== null) {
      if (!isObj(hs)) return bad(`${w}headers: expected a mapping`);
      for (const [name, value] of Object.entries(hs)) {
        const known = HEADERS.find((k) => k.toLowerCase() === name.toLowerCase());
        if (!known) bad(`${w}headers.${name}: not one of ${HEADERS.join(', ')}`);
        if (typeof value !== 'string' || /[\r\n]/.test(value)) bad(`${w}headers.${name}: expected a one-line string`);
        // Blank means "unset" in exporter-toolkit; here it removes our default.
        headers[known!] = value as string;
      }
    }
  }

  const users = new Map<string, string>();
  const u = doc['basic_auth_users'];
  if (u !== undefined && u !== null) {
    if (!isObj(u)) return bad('basic_auth_users: expected a mapping of username: bcrypt hash');
    for (const [name, hash] of Object.entries(u)) {
      if (name.includes(':')) bad(`basic_auth_users.${name}: a username cannot contain ":"`);
      if (typeof hash !== 'string' || !BCRYPT.test(hash)) bad(`basic_auth_users.${name}: not a bcrypt hash (make one with: htpasswd -nBC 10 "" | tr -d ':\\n')`);
      users.set(name, hash as string);
    }
  }
  return { file, tls, users, headers, watched };
}

/** A signature of the watched files, to notice a change without reading them. */
function signature(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/**
 * The web config in force, re-checked at most once per `recheckMs` when
 * asked for. Listeners added with onReload see each new good configuration
 * (a server swaps its TLS context); `onError` sees a reload that failed (the
 * old configuration stays in force).
 */
export class WebConfigSource {
  private config: WebConfig;
  private sig: string;
  private checkedAt: number;
  private readonly listeners: ((c: WebConfig) => void)[] = [];

  constructor(
    initial: WebConfig,
    private readonly hooks: { onError?: (message: string) => void; now?: () => number; recheckMs?: number } = {},
  ) {
    this.config = initial;
    this.sig = signature(initial.watched);
    this.checkedAt = this.now();
  }

  private now(): number {
    return (this.hooks.now ?? Date.now)();
  }

  onReload(listener: (c: WebConfig) => void): void {
    this.listeners.push(listener);
  }

  current(): WebConfig {
    const t = this.now();
    if (t - this.checkedAt < (this.hooks.recheckMs ?? 1000)) return this.config;
    this.checkedAt = t;
    const sig = signature(this.config.watched);
    if (sig === this.sig) return this.config;
    this.sig = sig;
    try {
      const next = loadWebConfig(this.config.file);
      // TLS on or off is fixed when the listener starts.
      if ((next.tls === null) !== (this.config.tls === null)) throw new Error(`tls_server_config was ${next.tls ? 'added' : 'removed'}; restart serve to switch TLS ${next.tls ? 'on' : 'off'}`);
      this.config = next;
      // Signature of what was actually loaded (the file list may have changed).
      this.sig = signature(next.watched);
      for (const l of this.listeners) l(next);
    } catch (err) {
      this.hooks.onError?.(oneLine(err));
    }
    return this.config;
  }
}

/**
 * Checks Basic credentials against bcrypt hashes, remembering outcomes so a
 * scrape every few seconds does not pay ~50–100 ms of bcrypt each time (as
 * exporter-toolkit caches). Failures are remembered too, so a client
 * retrying the same wrong password does not buy a bcrypt run per request,
 * but apart from successes: a stream of different wrong passwords must not
 * push the scraper's entry out. At most two bcrypt runs at a time (the rest
 * wait, bounded by the connection cap), so guessing cannot take the CPU the
 * probes and cached scrapes need. The key is a SHA-256 of user, password and
 * hash, so a changed hash invalidates it and no password is held in clear.
 */
export class BasicAuth {
  private readonly ok = new Map<string, true>();
  private readonly bad = new Map<string, false>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  // Unknown users still cost one bcrypt, so timing does not tell which names exist.
  private static dummy: string | undefined;
  static readonly CONCURRENCY = 2;

  constructor(private readonly maxEntries = 256) {}

  /** True when the Authorization header carries a user and password that match. */
  async check(header: string | undefined, users: ReadonlyMap<string, string>): Promise<boolean> {
    const m = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = users.get(user);
    const key = createHash('sha256').update(`${user}\0${password}\0${hash ?? ''}`).digest('base64');
    if (this.ok.has(key)) return true;
    if (this.bad.has(key)) return false;
    const b = await bcrypt();
    BasicAuth.dummy ??= b.hashSync('ethburst-no-such-user', 4);
    const dummy = BasicAuth.dummy;
    const matched = (await this.limited(() => b.compare(password, hash ?? dummy))) && hash !== undefined;
    const cache = matched ? this.ok : this.bad;
    if (cache.size >= this.maxEntries) cache.delete(cache.keys().next().value!);
    (cache as Map<string, boolean>).set(key, matched);
    return matched;
  }

  private async limited<T>(f: () => Promise<T>): Promise<T> {
    // A finishing run hands its slot straight to the next waiter, so no
    // newcomer can slip in between.
    if (this.running >= BasicAuth.CONCURRENCY) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await f();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
