// veth -> pod IP from the host routes a CNI installs: the parsers on the
// kernel's formats, then the real kernel with a veth wired like the VPC CNI
// (no address on the host side, a host route to each pod address, pod
// addresses from the documentation ranges).

import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { endianness } from 'node:os';
import { parseIpv4Routes, parseIpv6Routes, readHostRoutes } from '../../src/talkers/routes.js';
import { createVeth, type VethPair } from '../../src/harness/netns.js';
import { canUseNetns, netnsSkipReason } from '../helpers/host.js';

const ROUTE = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	0101A8C0	0003	0	0	100	00000000	0	0	0
eth0	0001A8C0	00000000	0001	0	0	100	00FFFFFF	0	0	0
eni1a2b3c	0A00010A	00000000	0005	0	0	0	FFFFFFFF	0	0	0
eni1a2b3c	0B00010A	00000000	0005	0	0	0	FFFFFFFF	0	0	0
eni4d5e6f	0C00010A	00000000	0005	0	0	0	FFFFFFFF	0	0	0
`;

const IPV6_ROUTE = `20010db8000000000000000000000010 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000400 00000001 00000000 00000001 lxc12ab
20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001 lo
fe80000000000000a8c1abfffe000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001 eth0
ff020000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0
`;

describe('host routes', () => {
  it.skipIf(endianness() !== 'LE')('reads /proc/net/route: the /32s by interface, the rest ignored', () => {
    expect(Object.fromEntries(parseIpv4Routes(ROUTE))).toEqual({ eni1a2b3c: ['10.1.0.10', '10.1.0.11'], eni4d5e6f: ['10.1.0.12'] });
  });

  it('reads /proc/net/ipv6_route: the /128s to pods, not the node’s own, loopback or multicast', () => {
    expect(Object.fromEntries(parseIpv6Routes(IPV6_ROUTE))).toEqual({ lxc12ab: ['2001:db8::10'] });
  });

  it('writes IPv6 the way people do (RFC 5952: the longest zero run shortened, lower case)', () => {
    const one = (hex: string) => [...parseIpv6Routes(`${hex} 80 ${'0'.repeat(32)} 00 ${'0'.repeat(32)} 00000000 00000001 00000000 00000001 x`).values()][0]![0];
    expect(one('20010db8000000010000000000000001')).toBe('2001:db8:0:1::1');
    expect(one('20010db800000000000100000000000a')).toBe('2001:db8::1:0:0:a');
    expect(one('20010db8aaaabbbbccccddddeeeeffff')).toBe('2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff');
  });
});

let pair: VethPair | null = null;
afterEach(() => {
  pair?.remove();
  pair = null;
});

describe.skipIf(!canUseNetns)(`host routes from the kernel ${netnsSkipReason && `(skipped: ${netnsSkipReason})`}`, () => {
  it('finds the pod addresses routed to a veth the way the VPC CNI routes them', () => {
    pair = createVeth({ prefix: 'ebrt' });
    // The pod's addresses live in its namespace; the host only routes to them.
    execFileSync('ip', ['-n', pair.netns, 'addr', 'add', '192.0.2.77/32', 'dev', pair.peer]);
    execFileSync('ip', ['-n', pair.netns, '-6', 'addr', 'add', '2001:db8:eb::77/128', 'dev', pair.peer, 'nodad']);
    execFileSync('ip', ['route', 'add', '192.0.2.77/32', 'dev', pair.name, 'scope', 'link']);
    execFileSync('ip', ['-6', 'route', 'add', '2001:db8:eb::77/128', 'dev', pair.name]);
    expect(readHostRoutes().get(pair.name)).toEqual(['192.0.2.77', '2001:db8:eb::77']);
    // Deleting the pair takes its routes with it.
    pair.remove();
    expect(readHostRoutes().has(pair.name)).toBe(false);
  });
});
