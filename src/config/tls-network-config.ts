import { resolve } from 'node:path';
import { ConfigError } from './config-error.ts';
import { parseDuration, parseHostPort, type HostPort } from '../http/units.ts';

/** The `network` section, normalised. CIDRs are validated by the schema and compiled by the checks. */
export interface NetworkConfig {
  allow: string[];
  deny: string[];
  trustProxy: string[];
  clientAddressHeader: string;
  forwardedHeader: boolean;
}

/** The `tls` section, normalised; null when the listener speaks plain HTTP. */
export interface TlsConfig {
  cert: string;
  key: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  ciphers: string;
  /** Seconds; 0 sends no HSTS header. */
  hstsMaxAge: number;
  clientCa: string | null;
  clientAuth: 'handshake' | 'request' | 'optional';
  certificateIdentity: boolean;
  watch: boolean;
  redirectListen: HostPort | null;
}

export interface UpstreamTlsConfig {
  ca: string | null;
  cert: string | null;
  key: string | null;
  servername: string | null;
  insecureSkipVerify: boolean;
}

interface RawTls {
  cert: string | null;
  key: string | null;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  ciphers: string;
  hstsMaxAge: unknown;
  clientCa: string | null;
  clientAuth: 'handshake' | 'request' | 'optional';
  certificateIdentity: boolean;
  watch: boolean;
  redirectListen: string | number | null;
}

const path = (cwd: string, file: string | null) => (file === null ? null : resolve(cwd, file));

export function normaliseNetwork(raw: NetworkConfig): NetworkConfig {
  return { ...raw, clientAddressHeader: raw.clientAddressHeader.toLowerCase() };
}

/** Cross-field rules the schema cannot say: pairs that belong together. Throws ConfigError. */
export function normaliseTls(raw: RawTls, cwd: string): TlsConfig | null {
  const problems: string[] = [];
  if ((raw.cert === null) !== (raw.key === null)) problems.push(`tls.${raw.cert === null ? 'cert' : 'key'}: expected a file together with tls.${raw.cert === null ? 'key' : 'cert'} (--tls-cert and --tls-key turn TLS on together), found nothing`);
  if (raw.cert === null && raw.clientCa !== null) problems.push('tls.clientCa: client certificates need TLS on the listener; set tls.cert and tls.key (--tls-cert, --tls-key) as well');
  if (raw.cert === null && raw.redirectListen !== null) problems.push('tls.redirectListen: the redirect listener only exists with TLS on; set tls.cert and tls.key as well');
  if (raw.clientCa === null && raw.certificateIdentity) problems.push('tls.certificateIdentity: needs tls.clientCa (--tls-client-ca), the CA that signs client certificates');
  if (problems.length > 0) throw new ConfigError(problems);
  if (raw.cert === null || raw.key === null) return null;
  return {
    cert: resolve(cwd, raw.cert),
    key: resolve(cwd, raw.key),
    minVersion: raw.minVersion,
    ciphers: raw.ciphers,
    hstsMaxAge: Math.floor((parseDuration(raw.hstsMaxAge) as number) / 1000),
    clientCa: path(cwd, raw.clientCa),
    clientAuth: raw.clientAuth,
    certificateIdentity: raw.certificateIdentity,
    watch: raw.watch,
    redirectListen: raw.redirectListen === null ? null : (parseHostPort(raw.redirectListen) as HostPort),
  };
}

export function normaliseUpstreamTls(raw: UpstreamTlsConfig, upstreamUrl: string | null, cwd: string): UpstreamTlsConfig {
  const problems: string[] = [];
  if ((raw.cert === null) !== (raw.key === null)) problems.push(`upstream.tls.${raw.cert === null ? 'cert' : 'key'}: expected a file together with upstream.tls.${raw.cert === null ? 'key' : 'cert'}, found nothing`);
  const usesTls = upstreamUrl !== null && upstreamUrl.startsWith('https:');
  const configured = raw.ca !== null || raw.cert !== null || raw.servername !== null || raw.insecureSkipVerify;
  if (configured && !usesTls) problems.push('upstream.tls: TLS settings for the upstream need an https:// upstream.url');
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...raw, ca: path(cwd, raw.ca), cert: path(cwd, raw.cert), key: path(cwd, raw.key) };
}
