/**
 * Which IP addresses the bridge may send a request to on a caller's behalf (callback URLs): only
 * public ones. One answer for the submit-time check of a literal address and the delivery-time check
 * of every address a name resolves to.
 *
 * Non-public, IPv4: this network 0/8, private 10/8 172.16/12 192.168/16, CGNAT 100.64/10, loopback
 * 127/8, link-local 169.254/16 (the metadata address 169.254.169.254), IETF 192.0.0/24, documentation
 * 192.0.2/24 198.51.100/24 203.0.113/24, 6to4 relay 192.88.99/24, benchmarking 198.18/15, multicast
 * 224/4, reserved 240/4 and broadcast.
 * Non-public, IPv6: unspecified ::, loopback ::1, unique-local fc00::/7, link-local fe80::/10,
 * site-local fec0::/10, multicast ff00::/8, discard 100::/64, documentation 2001:db8::/32,
 * benchmarking 2001:2::/48, ORCHID 2001:10::/28 and 2001:20::/28, local-use NAT64 64:ff9b:1::/48.
 * Embedded IPv4 is unwrapped and judged as IPv4: mapped ::ffff:0:0/96, translated ::ffff:0:0:0/96,
 * compatible ::/96, NAT64 64:ff9b::/96, 6to4 2002::/16 (the 6to4 gateway) and Teredo 2001::/32 (the
 * server and the de-obfuscated client address: either being non-public makes the address non-public).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

const IPV4_NON_PUBLIC: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

const IPV6_NON_PUBLIC: ReadonlyArray<readonly [string, number]> = [
  ['::', 128],
  ['::1', 128],
  ['100::', 64],
  ['64:ff9b:1::', 48],
  ['2001:2::', 48],
  ['2001:10::', 28],
  ['2001:20::', 28],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

const NON_PUBLIC = new BlockList();
for (const [network, prefix] of IPV4_NON_PUBLIC) NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of IPV6_NON_PUBLIC) NON_PUBLIC.addSubnet(network, prefix, 'ipv6');

/** The IPv4 ranges counted as non-public, as `[network, prefixLength]` (for documentation and tests). */
export const NON_PUBLIC_IPV4_RANGES = IPV4_NON_PUBLIC;
/** The IPv6 ranges counted as non-public (embedded IPv4 aside), as `[network, prefixLength]`. */
export const NON_PUBLIC_IPV6_RANGES = IPV6_NON_PUBLIC;

/**
 * True when `address` is a public unicast IP address the bridge may connect to for a caller. False for
 * anything else, including text that is not an IP address. Accepts IPv6 with or without brackets and
 * with a zone id (`fe80::1%eth0`).
 */
export function isPublicAddress(address: string): boolean {
  const text = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (isIPv4(text)) return !NON_PUBLIC.check(text, 'ipv4');
  const hextets = isIPv6(text) ? parseIPv6(text) : undefined;
  if (!hextets) return false;
  if (NON_PUBLIC.check(formatIPv6(hextets), 'ipv6')) return false;
  return embeddedIPv4(hextets).every((v4) => !NON_PUBLIC.check(v4, 'ipv4'));
}

/** The IPv4 addresses an IPv6 address carries (mapped, translated, compatible, NAT64, 6to4, Teredo). */
export function embeddedIPv4(hextets: readonly number[]): string[] {
  const [h0, h1, h2, h3, h4, h5, h6, h7] = hextets as [number, number, number, number, number, number, number, number];
  const zeroTo = (end: number) => hextets.slice(0, end).every((h) => h === 0);
  if (zeroTo(5) && h5 === 0xffff) return [ipv4Of(h6, h7)]; // ::ffff:a.b.c.d (mapped)
  if (zeroTo(4) && h4 === 0xffff && h5 === 0) return [ipv4Of(h6, h7)]; // ::ffff:0:a.b.c.d (translated)
  if (zeroTo(6)) return [ipv4Of(h6, h7)]; // ::a.b.c.d (compatible; :: and ::1 are caught before)
  if (h0 === 0x64 && h1 === 0xff9b && [h2, h3, h4, h5].every((h) => h === 0)) return [ipv4Of(h6, h7)]; // NAT64
  if (h0 === 0x2002) return [ipv4Of(h1, h2)]; // 6to4: the gateway's IPv4 address
  if (h0 === 0x2001 && h1 === 0) return [ipv4Of(h2, h3), ipv4Of(h6 ^ 0xffff, h7 ^ 0xffff)]; // Teredo server, client
  return [];
}

/** The eight 16-bit groups of a valid IPv6 address text (`::` expanded, a dotted IPv4 tail converted). */
export function parseIPv6(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let body = text.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number) as [number, number, number, number];
    body = `${body.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = body.split('::') as [string, string | undefined];
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const left = groups(head);
  if (tail === undefined) return left.length === 8 ? left : undefined;
  const right = groups(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function formatIPv6(hextets: readonly number[]): string {
  return hextets.map((h) => h.toString(16)).join(':');
}

function ipv4Of(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}
