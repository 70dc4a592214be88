import test from 'ava';
import { isPublicAddress, publicOnlyLookup } from '../../src/platform/public-address.ts';

test('public addresses are told from loopback, private, shared, link-local, unique-local, documentation and multicast ones, IPv4 inside IPv6 included', (t) => {
  for (const address of ['8.8.8.8', '1.1.1.1', '::ffff:8.8.8.8', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e']) t.true(isPublicAddress(address), address);
  for (const address of [
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '169.254.169.254', '0.0.0.0', '224.0.0.1', '255.255.255.255',
    '192.0.2.1', '198.51.100.7', '203.0.113.9', '::1', '::', 'fe80::1', 'fd00::1', 'fc12::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::a00:1', '2001:db8::1',
    'localhost', 'not an address',
  ]) t.false(isPublicAddress(address), address);
});

test('the public-only lookup refuses a name that resolves to loopback, with a reason', async (t) => {
  const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => publicOnlyLookup('localhost', { all: false }, (failure) => resolve(failure)));
  t.is(error?.code, 'ENOTPUBLIC');
  t.regex(error!.message, /localhost resolves to .+, which is not a public address/);
});
