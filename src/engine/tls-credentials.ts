import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { constants } from 'node:crypto';
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import { ConfigError } from '../config/config-error.ts';
import type { TlsConfig } from './listener-config.ts';
import type { UpstreamTlsConfig } from './upstream-config.ts';

/**
 * TLS material for the listener and for the upstream hop: read from PEM files, checked at
 * start (a missing file, a bad PEM or a key that does not match its certificate stops the start
 * with a message that names the option), and reloaded without a restart.
 */

function readPem(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError([`${field}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
}

/** The files of the listener's certificate, key and client CA, as a secure-context options object. */
export function readListenerCredentials(tls: TlsConfig): SecureContextOptions {
  const credentials: SecureContextOptions = {
    cert: readPem(tls.cert, 'tls.cert'),
    key: readPem(tls.key, 'tls.key'),
    minVersion: tls.minVersion,
    ciphers: tls.ciphers,
  };
  if (tls.clientCa !== null) credentials.ca = readPem(tls.clientCa, 'tls.clientCa');
  try {
    createSecureContext(credentials);
  } catch (error) {
    throw new ConfigError([`tls.cert / tls.key / tls.ciphers: ${tls.cert} and ${tls.key} cannot be used (${(error as Error).message})`]);
  }
  return credentials;
}

/**
 * No TLS 1.2 renegotiation, for every listener that serves TLS (the public one and the admin
 * one). Each client-initiated renegotiation costs the server a full handshake for a few bytes
 * from the client (a CPU exhaustion lever, and Node.js accepts them by default), and nothing
 * here needs one: client certificates are asked for in the first handshake. OpenSSL answers
 * the client's new ClientHello with a `no_renegotiation` alert before doing any work (RFC 5246
 * §7.2.2); OpenSSL clients then end the connection. TLS 1.3 has no renegotiation at all.
 */
export const NO_RENEGOTIATION = constants.SSL_OP_NO_RENEGOTIATION;

/**
 * Options for `https.createServer` (and `setSecureContext` on reload): modern protocol versions
 * and ciphers only, no renegotiation, client certificates requested when a client CA is
 * configured, and the handshake refused without one when `tls.clientAuth` is `handshake`.
 */
export function listenerTlsOptions(tls: TlsConfig, credentials: SecureContextOptions): TlsOptions {
  const clientCertificates = tls.clientCa !== null;
  return {
    ...credentials,
    secureOptions: NO_RENEGOTIATION,
    // Every cipher on the list is strong, so the client's preference (often better for its hardware) wins.
    honorCipherOrder: false,
    // Elliptic-curve key exchange only (no finite-field groups, whose small sizes weaken it).
    ecdhCurve: 'X25519:prime256v1:secp384r1',
    requestCert: clientCertificates,
    rejectUnauthorized: clientCertificates && tls.clientAuth === 'handshake',
  };
}

/**
 * Watches the listener's PEM files and hands fresh credentials to `apply` when they change (a
 * rewrite in place, or a rename over them as certbot and Kubernetes secret mounts do). A change
 * that does not load (a half-written file, a key that does not match) is reported and the
 * current certificate stays in service; the next change is tried again.
 */
export class CertificateReloader {
  readonly #tls: TlsConfig;
  readonly #apply: (credentials: SecureContextOptions) => void;
  readonly #onError: (error: unknown) => void;
  readonly #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | null = null;
  #lastLoaded: string;

  constructor(tls: TlsConfig, initial: SecureContextOptions, apply: (credentials: SecureContextOptions) => void, onError: (error: unknown) => void) {
    this.#tls = tls;
    this.#apply = apply;
    this.#onError = onError;
    this.#lastLoaded = fingerprintOf(initial);
  }

  /** Watches the folders of the files (a file watch would lose track after a rename). */
  watch(debounceMs = 100): void {
    const folders = new Set([this.#tls.cert, this.#tls.key, this.#tls.clientCa].filter((file): file is string => file !== null).map((file) => dirname(file)));
    for (const folder of folders) {
      const watcher = watch(folder, { persistent: false }, () => {
        if (this.#timer !== null) clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.reload();
        }, debounceMs);
      });
      watcher.on('error', this.#onError);
      this.#watchers.push(watcher);
    }
  }

  /** Reads the files again and applies them if they changed. Returns whether it applied. */
  reload(): boolean {
    let credentials: SecureContextOptions;
    try {
      credentials = readListenerCredentials(this.#tls);
    } catch (error) {
      this.#onError(error);
      return false;
    }
    const loaded = fingerprintOf(credentials);
    if (loaded === this.#lastLoaded) return false;
    this.#apply(credentials);
    this.#lastLoaded = loaded;
    return true;
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers.length = 0;
  }
}

function fingerprintOf(credentials: SecureContextOptions): string {
  return [credentials.cert, credentials.key, credentials.ca].map((part) => (Buffer.isBuffer(part) ? part.toString('base64') : '')).join('|');
}

/** undici `connect` options for an https:// upstream. Verification is on unless explicitly skipped. */
export function upstreamConnectOptions(tls: UpstreamTlsConfig): { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean } {
  const options: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean } = { rejectUnauthorized: !tls.insecureSkipVerify };
  if (tls.ca !== null) options.ca = readPem(tls.ca, 'upstream.tls.ca');
  if (tls.cert !== null) options.cert = readPem(tls.cert, 'upstream.tls.cert');
  if (tls.key !== null) options.key = readPem(tls.key, 'upstream.tls.key');
  if (tls.servername !== null) options.servername = tls.servername;
  try {
    createSecureContext({ ca: options.ca, cert: options.cert, key: options.key });
  } catch (error) {
    throw new ConfigError([`upstream.tls: the CA, certificate or key cannot be used (${(error as Error).message})`]);
  }
  return options;
}
