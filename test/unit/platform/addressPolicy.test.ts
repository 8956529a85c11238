import fc from 'fast-check';
import {
  NON_PUBLIC_IPV4_RANGES,
  NON_PUBLIC_IPV6_RANGES,
  embeddedIPv4,
  isPublicAddress,
  parseIPv6,
} from '../../../shared/platform/addressPolicy';

// ---- an independent oracle: integer arithmetic over the documented ranges, no BlockList -----------

const ipv4ToInt = (address: string) => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const intToIPv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const inIPv4Range = (n: number, [network, prefix]: readonly [string, number]) =>
  Math.floor(n / 2 ** (32 - prefix)) === Math.floor(ipv4ToInt(network) / 2 ** (32 - prefix));
const oracleIPv4Public = (n: number) => !NON_PUBLIC_IPV4_RANGES.some((range) => inIPv4Range(n, range));

const hex = (n: number) => n.toString(16);
const high = (n: number) => hex(Math.floor(n / 65536));
const low = (n: number) => hex(n % 65536);

/** Every IPv6 spelling that carries an IPv4 address, as an attacker would write it in a URL. */
const EMBEDDINGS: ReadonlyArray<{ name: string; wrap: (v4: string, n: number) => string }> = [
  { name: 'mapped, dotted', wrap: (v4) => `::ffff:${v4}` },
  { name: 'mapped, hex', wrap: (_v4, n) => `::ffff:${high(n)}:${low(n)}` },
  { name: 'mapped, full form upper case', wrap: (_v4, n) => `0:0:0:0:0:FFFF:${high(n)}:${low(n)}`.toUpperCase() },
  { name: 'translated', wrap: (v4) => `::ffff:0:${v4}` },
  { name: 'compatible', wrap: (v4) => `::${v4}` },
  { name: 'NAT64', wrap: (_v4, n) => `64:ff9b::${high(n)}:${low(n)}` },
  { name: 'NAT64, dotted', wrap: (v4) => `64:ff9b::${v4}` },
  { name: '6to4', wrap: (_v4, n) => `2002:${high(n)}:${low(n)}::1` },
  {
    name: 'Teredo client',
    wrap: (_v4, n) => `2001:0:4136:e378:8000:63bf:${hex(0xffff ^ Math.floor(n / 65536))}:${hex(0xffff ^ (n % 65536))}`,
  },
];

const anyIPv4 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
/** An address inside one of the non-public IPv4 ranges, host bits random. */
const nonPublicIPv4 = fc
  .tuple(fc.constantFrom(...NON_PUBLIC_IPV4_RANGES), fc.integer({ min: 0, max: 2 ** 32 - 1 }))
  .map(([[network, prefix], bits]) => ipv4ToInt(network) + (bits % 2 ** (32 - prefix)));
/** Eight random 16-bit groups with the first `prefix` bits taken from `network`. */
const ipv6In = (network: string, prefix: number) =>
  fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((random) => {
    const base = parseIPv6(network) ?? [];
    return random.map((group, i) => {
      const fixedBits = Math.max(0, Math.min(16, prefix - i * 16));
      const mask = fixedBits === 0 ? 0 : (0xffff << (16 - fixedBits)) & 0xffff;
      return ((base[i] ?? 0) & mask) | (group & ~mask & 0xffff);
    });
  });
const text = (hextets: number[]) => hextets.map(hex).join(':');

describe('Function: isPublicAddress', () => {
  it.each([
    // the forms the issue names, all refused
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:0:0', false],
    ['::ffff:a9fe:a9fe', false],
    ['::127.0.0.1', false],
    ['64:ff9b::7f00:1', false],
    ['fe80::1', false],
    ['febf:ffff::1', false],
    ['fe9a::1', false],
    ['fe80::1%eth0', false],
    ['[::1]', false],
    // the rest of the policy
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['198.18.0.1', false],
    ['192.0.2.1', false],
    ['::', false],
    ['::1', false],
    ['fc00::1', false],
    ['fd12:3456::1', false],
    ['fec0::1', false],
    ['ff02::1', false],
    ['2001:db8::1', false],
    ['64:ff9b:1::a00:1', false],
    ['2002:7f00:1::', false],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', false], // Teredo, client 192.0.2.45
    ['not an address', false],
    ['', false],
    // public
    ['172.32.0.1', true],
    ['20.30.40.50', true],
    ['8.8.8.8', true],
    ['::ffff:8.8.8.8', true],
    ['64:ff9b::808:808', true],
    ['2002:808:808::1', true],
    ['2603:1030::1', true],
    ['2a01:111:f100::1', true],
  ])('%s → public %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('agrees with integer arithmetic over the documented IPv4 ranges', () => {
    fc.assert(
      fc.property(fc.oneof(anyIPv4, nonPublicIPv4), (n) => isPublicAddress(intToIPv4(n)) === oracleIPv4Public(n)),
      { numRuns: 2_000 },
    );
  });

  it.each(EMBEDDINGS)('judges an IPv4 address written $name as that IPv4 address', ({ wrap }) => {
    fc.assert(
      fc.property(fc.oneof(anyIPv4, nonPublicIPv4), (n) => {
        const v4 = intToIPv4(n);
        return isPublicAddress(wrap(v4, n)) === isPublicAddress(v4);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses every address of every non-public IPv6 range, whatever the host bits', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...NON_PUBLIC_IPV6_RANGES).chain(([network, prefix]) => ipv6In(network, prefix)),
        (hextets) => !isPublicAddress(text(hextets)) && !isPublicAddress(`[${text(hextets).toUpperCase()}]`),
      ),
      { numRuns: 2_000 },
    );
  });

  it('gives the same answer for every spelling of one IPv6 address', () => {
    fc.assert(
      fc.property(fc.ipV6(), (address) => {
        const hextets = parseIPv6(address);
        if (!hextets) return false;
        const expected = isPublicAddress(address);
        return [
          text(hextets),
          hextets.map((h) => h.toString(16).padStart(4, '0')).join(':'),
          address.toUpperCase(),
        ].every((spelling) => isPublicAddress(spelling) === expected);
      }),
      { numRuns: 1_000 },
    );
  });

  it('agrees with the URL parser: a host normalised by new URL() is judged like the address it became', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (address) => {
        const host = new URL(`https://${address.includes(':') ? `[${address}]` : address}/`).hostname;
        return isPublicAddress(host) === isPublicAddress(address);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('Function: embeddedIPv4', () => {
  it('finds nothing in an ordinary global IPv6 address', () => {
    expect(embeddedIPv4(parseIPv6('2603:1030:20e:3::23c') ?? [])).toEqual([]);
  });

  it('reads both addresses of a Teredo address (server, de-obfuscated client)', () => {
    expect(embeddedIPv4(parseIPv6('2001:0:4136:e378:8000:63bf:3fff:fdd2') ?? [])).toEqual([
      '65.54.227.120',
      '192.0.2.45',
    ]);
  });
});
