import { parseCidr } from '../http/cidr.ts';
import { parseByteSize, parseDuration, parseHostPort } from '../http/units.ts';
import type { ConfigFormat } from './config-fragment.ts';

/** The formats every fragment may use without declaring them. */
export const COMMON_FORMATS: Readonly<Record<string, ConfigFormat>> = {
  duration: {
    expected: 'a duration such as 250ms, 30s, 5m, 1h or 30d (or a number of milliseconds)',
    documentation: 'A duration: a number followed by `ms`, `s`, `m`, `h` or `d` (`250ms`, `30s`, `5m`, `1h`, `30d`; decimals such as `1.5s` are allowed), or a plain integer number of milliseconds.',
    validate: (value) => parseDuration(value) !== null,
  },
  'byte-size': {
    expected: 'a size such as 512kb or 10mb (or a number of bytes)',
    documentation: 'A size: a number followed by `b`, `kb`, `mb` or `gb` (`512kb`, `10mb`; 1kb = 1024 bytes), or a plain integer number of bytes.',
    validate: (value) => parseByteSize(value) !== null,
    placeholder: 'size',
  },
  'host-port': {
    expected: 'HOST:PORT, with IPv6 hosts in brackets such as [::]:8080',
    documentation: '`HOST:PORT`, with IPv6 hosts in brackets (`[::]:8080`, `[::1]:8080`). A bare port (`8080`) means `127.0.0.1:8080`. Port `0` picks a free port.',
    validate: (value) => parseHostPort(value) !== null,
    placeholder: 'host:port',
  },
  'header-name': {
    expected: 'an HTTP header name (letters, digits and -)',
    documentation: 'An HTTP header name: letters, digits and `-`, at most 64 characters. Matched without regard to case.',
    validate: /^[A-Za-z0-9-]{1,64}$/,
    placeholder: 'header',
  },
  cidr: {
    expected: 'an IPv4 or IPv6 address or CIDR with the host bits zero, such as 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32',
    documentation: 'An IPv4 or IPv6 range in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`) or a single address (`192.0.2.7`, `::1`). Host bits must be zero (`10.0.0.1/8` is refused). `::ffff:a.b.c.d/N` (N ≥ 96) is the IPv4 range it maps. In an environment variable, separate entries with commas.',
    validate: isCidr,
  },
  'file-path': {
    expected: 'the path of a file',
    documentation: 'The path of a file, relative to the working directory. It is read at start-up; a missing or unreadable file stops the start with an error that names the option.',
    validate: (value) => value.trim() !== '' && !value.includes('\0'),
    placeholder: 'file',
  },
};

function isCidr(value: string): boolean {
  try {
    parseCidr(value);
    return true;
  } catch {
    return false;
  }
}
