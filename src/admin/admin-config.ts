import { resolve } from 'node:path';
import { ConfigError } from '../config/config-error.ts';
import type { ConfigFragment } from '../config/config-fragment.ts';
import { duration } from '../config/option-schemas.ts';
import { parseDuration, parseHostPort, type HostPort } from '../http/units.ts';

export interface AdminConfig {
  /** Null when the admin listener is off. */
  listen: HostPort | null;
  allowRemote: boolean;
  tls: { cert: string; key: string; clientCa: string | null } | null;
  sessionLifetime: number;
  sessionIdleTimeout: number;
}

interface RawAdmin {
  listen: string | number | null;
  allowRemote: boolean;
  tls: { cert: string | null; key: string | null; clientCa: string | null };
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
      description: 'Admin API and dashboard listener, `HOST:PORT`, never the public listener. Loopback by default; `null` (or an empty `PORTCULLIS_ADMIN_LISTEN`) turns it off. With `workers` above 1, only the first worker serves it.',
    },
    'admin.allowRemote': {
      type: 'boolean',
      default: false,
      description: 'Accept admin clients that are not on this host. Off by default: requests from any address but 127.0.0.0/8 and ::1 get 403 `admin_client_refused`. Turn it on only with `admin.tls` set.',
    },
    'admin.tls.cert': { type: ['string', 'null'], minLength: 1, default: null, description: 'PEM certificate (chain) file for the admin listener. With `admin.tls.key`, it serves HTTPS.' },
    'admin.tls.key': { type: ['string', 'null'], minLength: 1, default: null, description: 'PEM private key file for `admin.tls.cert`.' },
    'admin.tls.clientCa': { type: ['string', 'null'], minLength: 1, default: null, description: 'PEM CA file: when set, admin clients must also present a certificate it signed (mTLS), in addition to an admin token.' },
    'admin.sessionLifetime': duration('How long a dashboard login lasts at most.', '8h'),
    'admin.sessionIdleTimeout': duration('A dashboard session unused this long ends.', '30m'),
  },
  read(document, { cwd }) {
    const { admin } = document as unknown as { admin: RawAdmin };
    return {
      admin: {
        listen: admin.listen === null ? null : (parseHostPort(admin.listen) as HostPort),
        allowRemote: admin.allowRemote,
        tls: readAdminTls(admin.tls, cwd),
        sessionLifetime: parseDuration(admin.sessionLifetime) as number,
        sessionIdleTimeout: parseDuration(admin.sessionIdleTimeout) as number,
      },
    };
  },
};

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
