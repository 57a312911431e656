/**
 * The key a client is counted under (issue 5; checklist AUTH-02, AUTH-03): IPv4 as is, IPv6 per
 * /64 whatever way the address is written, and an IPv4-mapped IPv6 address as its IPv4.
 */
import { describe, expect, it } from 'vitest';
import { clientKey } from './client-key.js';

describe('clientKey', () => {
  it('keeps an IPv4 address unchanged', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('203.0.113.8')).not.toBe(clientKey('203.0.113.7'));
  });

  it('maps every address of one IPv6 /64 to one key', () => {
    const same = [
      '2001:db8:1:2::1',
      '2001:db8:1:2::ffff',
      '2001:db8:1:2:aaaa:bbbb:cccc:dddd',
      '2001:0db8:0001:0002:0000:0000:0000:0001',
      '2001:DB8:1:2::ABCD',
      '2001:db8:1:2:0:0:0:7',
      '2001:db8:1:2:1::',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
    ];
    const keys = new Set(same.map(clientKey));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toBe('2001:db8:1:2::/64');
  });

  it('compression inside the /64 prefix still lands on the right /64', () => {
    expect(clientKey('2001:db8::1')).toBe(clientKey('2001:db8:0:0:ffff::9'));
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe(clientKey('0:0:0:0:0:0:0:2'));
    expect(clientKey('fe80::1')).toBe(clientKey('FE80:0:0:0:1234:5678:9abc:def0'));
  });

  it('keeps different /64s apart', () => {
    const prefixes = [
      '2001:db8:1:2::1',
      '2001:db8:1:3::1',
      '2001:db8:2:2::1',
      '2001:db9:1:2::1',
      '2001:db8::1',
      '2001:db8:0:1::1',
    ];
    expect(new Set(prefixes.map(clientKey)).size).toBe(prefixes.length);
  });

  it('maps an IPv4-mapped IPv6 address to the IPv4 address', () => {
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::FFFF:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:127.0.0.1')).toBe(clientKey('127.0.0.1'));
  });
});
