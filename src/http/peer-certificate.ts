import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/**
 * The client certificate of a connection, as the checks see it: its SHA-256 fingerprint, and
 * only when the TLS layer verified it against `tls.clientCa`. Computed once per connection.
 */

const PEER_FINGERPRINT: unique symbol = Symbol('portcullis peer fingerprint');
type SocketWithFingerprint = Socket & { [PEER_FINGERPRINT]?: string | null };

/** `AB:CD:…` (Node's `fingerprint256`) or `abcd…` → 64 lower-case hex digits, or null. */
export function normaliseFingerprint(text: string): string | null {
  const hex = text.trim().replaceAll(':', '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

/**
 * The verified client certificate's fingerprint (64 lower-case hex digits), or null when the
 * connection is plain HTTP, presented no certificate, or presented one the CA did not sign.
 */
export function verifiedPeerFingerprint(socket: Socket): string | null {
  const cached = (socket as SocketWithFingerprint)[PEER_FINGERPRINT];
  if (cached !== undefined) return cached;
  const tlsSocket = socket as Partial<TLSSocket>;
  let fingerprint: string | null = null;
  if (tlsSocket.encrypted === true && tlsSocket.authorized === true && typeof tlsSocket.getPeerCertificate === 'function') {
    const certificate = tlsSocket.getPeerCertificate();
    if (certificate !== null && typeof certificate.fingerprint256 === 'string') fingerprint = normaliseFingerprint(certificate.fingerprint256);
  }
  (socket as SocketWithFingerprint)[PEER_FINGERPRINT] = fingerprint;
  return fingerprint;
}
