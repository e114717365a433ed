import { denial } from '../../http/error-catalogue.ts';
import { verifiedPeerFingerprint } from '../../http/peer-certificate.ts';
import type { Check } from '../request-context.ts';

const CLIENT_CERTIFICATE_REQUIRED = denial('client_certificate_required', null, [['www-authenticate', 'Bearer realm="portcullis"']]);

/**
 * Stage 6, first: with `tls.clientAuth: request`, the TLS handshake accepts any client, and a
 * request on a connection without a verified client certificate gets a readable 401 instead of
 * a failed handshake (which most HTTP clients report only as a connection error).
 */
export function createClientCertificateCheck(): Check {
  return {
    name: 'client-certificate',
    run(context) {
      return verifiedPeerFingerprint(context.req.socket) === null ? CLIENT_CERTIFICATE_REQUIRED : null;
    },
  };
}
