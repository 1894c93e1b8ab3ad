// Which pod is behind which host-side veth: the host routes a CNI installs
// for each pod (`POD_IP dev eniXXXX scope link` with the VPC CNI, `lxc…`
// with Cilium, `cali…` with Calico), read from /proc/net/route (IPv4, main
// table) and /proc/net/ipv6_route. Plain files any process in the host
// network namespace may read; nothing is asked of the network.

import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';

/** Host routes (/32, /128) by interface name, addresses in their usual text form, sorted. */
export type HostRoutes = Map<string, string[]>;

const littleEndian = endianness() === 'LE';

/** A /proc/net/route address: the kernel prints the __be32 as a host-order u32 in hex. */
function ipv4FromProc(hex: string): string | null {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return null;
  const v = Number.parseInt(hex, 16);
  const bytes = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  return (littleEndian ? bytes.reverse() : bytes).join('.');
}

/** A /proc/net/ipv6_route address (32 hex digits, network order) in RFC 5952 form. */
function ipv6FromProc(hex: string): string | null {
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return null;
  const groups = Array.from({ length: 8 }, (_, i) => Number.parseInt(hex.slice(4 * i, 4 * i + 4), 16));
  // The longest run of two or more zero groups becomes "::" (the first of equals).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const text = groups.map((g) => g.toString(16));
  if (best < 0) return text.join(':');
  return `${text.slice(0, best).join(':')}::${text.slice(best + bestLen).join(':')}`;
}

function add(routes: HostRoutes, dev: string, ip: string): void {
  const list = routes.get(dev);
  if (list === undefined) routes.set(dev, [ip]);
  else if (!list.includes(ip)) list.push(ip);
}

/** Host routes of /proc/net/route text: lines whose mask is 255.255.255.255. */
export function parseIpv4Routes(text: string, into: HostRoutes = new Map()): HostRoutes {
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [dev, dest, , , , , , mask] = f as [string, string, string, string, string, string, string, string];
    if (mask.toUpperCase() !== 'FFFFFFFF') continue;
    const ip = ipv4FromProc(dest);
    if (ip !== null) add(into, dev, ip);
  }
  return into;
}

/** Host routes of /proc/net/ipv6_route text: prefix length 128, not a loopback or the kernel's local and multicast entries. */
export function parseIpv6Routes(text: string, into: HostRoutes = new Map()): HostRoutes {
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const dest = f[0]!;
    const plen = Number.parseInt(f[1]!, 16);
    const flags = Number.parseInt(f[8]!, 16);
    const dev = f[9]!;
    // RTF_LOCAL (0x80000000): the node's own addresses, in the local table.
    if (plen !== 128 || dev === 'lo' || flags & 0x80000000) continue;
    const ip = ipv6FromProc(dest);
    if (ip !== null && !ip.startsWith('ff')) add(into, dev, ip);
  }
  return into;
}

/** The host routes of this network namespace now; a file that cannot be read counts as none. */
export function readHostRoutes(files = { ipv4: '/proc/net/route', ipv6: '/proc/net/ipv6_route' }): HostRoutes {
  const routes: HostRoutes = new Map();
  for (const [file, parse] of [
    [files.ipv4, parseIpv4Routes],
    [files.ipv6, parseIpv6Routes],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6 on this kernel, or no procfs
    }
    parse(text, routes);
  }
  for (const list of routes.values()) list.sort();
  return routes;
}
