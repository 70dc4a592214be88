import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses that are not on the public internet (RFC 6890 and its kin): loopback, private,
 * shared (CGNAT), link-local, unique-local, documentation, benchmarking, multicast, reserved.
 * An address a person names (a push subscription's endpoint) must not reach into the hub's own
 * network (SSRF).
 */
const notPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) notPublic.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) notPublic.addSubnet(network, prefix, 'ipv6');

// Kept apart: a BlockList holding ::ffff:0:0/96 matches every IPv4 address checked against it.
const ipv4Mapped = new BlockList();
ipv4Mapped.addSubnet('::ffff:0:0', 96, 'ipv6');

/** Whether an IP address (v4, or v6 with an IPv4 inside it checked as IPv4) is on the public internet. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !notPublic.check(address, 'ipv4');
  if (family !== 6) return false;
  if (ipv4Mapped.check(address, 'ipv6')) {
    // The URL parser writes it as ::ffff:hhhh:hhhh whichever way it was given.
    const [high, low] = new URL(`http://[${address}]/`).hostname.slice(1, -1).split(':').slice(-2).map((group) => parseInt(group, 16));
    return isPublicAddress([high! >> 8, high! & 255, low! >> 8, low! & 255].join('.'));
  }
  return !notPublic.check(address, 'ipv6');
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request that connects only to public addresses: the name is resolved
 * once, here, and refused when any address it has is not public, so a name that points (or is
 * re-pointed, DNS rebinding) at the hub's own network is never connected to.
 */
export function publicOnlyLookup(hostname: string, options: { all?: boolean; family?: number | string } | number, callback: LookupCallback): void {
  const wanted = typeof options === 'object' ? options : { family: options };
  dnsLookup(hostname, { all: true, family: Number(wanted.family) || 0 }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.find((entry) => !isPublicAddress(entry.address));
    if (refused || !addresses.length) {
      const why = Object.assign(new Error(`${hostname} resolves to ${refused?.address ?? 'nothing'}, which is not a public address`), { code: 'ENOTPUBLIC' });
      return callback(why, []);
    }
    if (wanted.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}
