import { resolve } from 'node:path';
import { ConfigError } from '../config/config-error.ts';
import type { ConfigFragment } from '../config/config-fragment.ts';
import { duration } from '../config/option-schemas.ts';
import { createCidrMatcher } from '../http/cidr.ts';
import { parseIpAddress } from '../http/ip-address.ts';
import { formatHostPort, parseDuration, parseHostPort, type HostPort } from '../http/units.ts';

export interface AdminConfig {
  /** Null when the admin listener is off. */
  listen: HostPort | null;
  allowRemote: boolean;
  tls: { cert: string; key: string; clientCa: string | null } | null;
  /** Plain HTTP on an address beyond loopback, asked for by name (logged as an error at every start). */
  insecurePlaintextRemote: boolean;
  sessionLifetime: number;
  sessionIdleTimeout: number;
}

interface RawAdmin {
  listen: string | number | null;
  allowRemote: boolean;
  tls: { cert: string | null; key: string | null; clientCa: string | null };
  insecurePlaintextRemote: boolean;
  sessionLifetime: unknown;
  sessionIdleTimeout: unknown;
}

/** The admin listener: admin API, dashboard and metrics. */
export const adminConfig: ConfigFragment<{ admin: AdminConfig }> = {
  options: {
    'admin.listen': {
      type: ['string', 'integer', 'null'],
      format: 'host-port',
      default: '127.0.0.1:8081',
      'x-flag': '--admin-listen',
      description: 'Admin API and dashboard listener, `HOST:PORT`, never the public listener. Loopback by default; an address beyond loopback (`0.0.0.0`, `::`) needs `admin.tls`, or the gateway refuses to start. `null` (or an empty `PORTCULLIS_ADMIN_LISTEN`) turns it off. With `workers` above 1, only the first worker serves it.',
    },
    'admin.allowRemote': {
      type: 'boolean',
      default: false,
      description: 'Accept admin clients that are not on this host. Off by default: requests from any address but 127.0.0.0/8 and ::1 get 403 `admin_client_refused`. Turn it on only with `admin.tls` set.',
    },
    'admin.tls.cert': { type: ['string', 'null'], minLength: 1, default: null, description: 'PEM certificate (chain) file for the admin listener. With `admin.tls.key`, it serves HTTPS.' },
    'admin.tls.key': { type: ['string', 'null'], minLength: 1, default: null, description: 'PEM private key file for `admin.tls.cert`.' },
    'admin.tls.clientCa': { type: ['string', 'null'], minLength: 1, default: null, description: 'PEM CA file: when set, admin clients must also present a certificate it signed (mTLS), in addition to an admin token.' },
    'admin.insecurePlaintextRemote': {
      type: 'boolean',
      default: false,
      description: 'DANGEROUS: let `admin.listen` be an address beyond loopback (`0.0.0.0`, `::`, a host name, a LAN address) without `admin.tls`. Without it, such a listener refuses to start (exit 2): admin tokens and session cookies would cross the network in clear text, even to a listener that then refuses the client (`admin.allowRemote` off). Logged as an error at every start. For a network you fully control only; set `admin.tls` instead.',
    },
    'admin.sessionLifetime': duration('How long a dashboard login lasts at most.', '8h'),
    'admin.sessionIdleTimeout': duration('A dashboard session unused this long ends (an open event stream is not use: it ends with the session).', '30m'),
  },
  read(document, { cwd, sourceOf }) {
    const { admin } = document as unknown as { admin: RawAdmin };
    const listen = admin.listen === null ? null : (parseHostPort(admin.listen) as HostPort);
    const tls = readAdminTls(admin.tls, cwd);
    if (listen !== null && tls === null && !admin.insecurePlaintextRemote && !isLoopbackHost(listen.host)) {
      const source = sourceOf('admin.listen');
      throw new ConfigError([
        `admin.listen${source === undefined ? '' : ` (from ${source})`}: ${formatHostPort(listen)} is not a loopback address, and admin.tls is not set: admin tokens and session cookies would cross the network in clear text. Set admin.tls.cert and admin.tls.key, or bind admin.listen to 127.0.0.1 (or ::1, localhost). admin.insecurePlaintextRemote: true (PORTCULLIS_ADMIN_INSECURE_PLAINTEXT_REMOTE=true) allows it anyway, dangerously.`,
      ]);
    }
    return {
      admin: {
        listen,
        allowRemote: admin.allowRemote,
        tls,
        insecurePlaintextRemote: admin.insecurePlaintextRemote,
        sessionLifetime: parseDuration(admin.sessionLifetime) as number,
        sessionIdleTimeout: parseDuration(admin.sessionIdleTimeout) as number,
      },
    };
  },
};

const loopback = createCidrMatcher(['127.0.0.0/8', '::1/128']);

/**
 * Whether a listen host only ever reaches this machine: `localhost`, or an address in
 * 127.0.0.0/8 or `::1` (also IPv4-mapped). `0.0.0.0` and `::` mean every interface; any other
 * host name may resolve anywhere, so it counts as remote (`127.example` is a name, not 127/8).
 */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const address = parseIpAddress(host);
  return address !== null && loopback.matches(address);
}

/** `admin.tls`: a certificate and its key together (paths resolved like `store`), or neither. */
function readAdminTls(tls: RawAdmin['tls'], cwd: string): AdminConfig['tls'] {
  if (tls.cert === null && tls.key === null) {
    if (tls.clientCa !== null) throw new ConfigError(['admin.tls.clientCa: requires admin.tls.cert and admin.tls.key (client certificates need TLS), found only admin.tls.clientCa']);
    return null;
  }
  if (tls.cert === null || tls.key === null) {
    throw new ConfigError([`admin.tls: expected both cert and key, found only ${tls.cert === null ? 'key' : 'cert'}`]);
  }
  return { cert: resolve(cwd, tls.cert), key: resolve(cwd, tls.key), clientCa: tls.clientCa === null ? null : resolve(cwd, tls.clientCa) };
}
