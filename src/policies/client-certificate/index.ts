import type { Policy } from '../policy.ts';
import { createClientCertificateCheck } from './client-certificate-check.ts';

/** What it reads of the listener's TLS settings (engine/listener-config.ts owns them). */
interface ClientCertificateNeeds {
  tls: { clientCa: string | null; clientAuth: 'handshake' | 'request' | 'optional' } | null;
}

/** Stage 6, first: with `tls.clientAuth: request`, a request without a verified client certificate gets 401. */
export const clientCertificate: Policy<never, ClientCertificateNeeds> = {
  name: 'client-certificate',
  stage: 6,
  config: null,
  create: (config) => (config.tls?.clientCa != null && config.tls.clientAuth === 'request' ? createClientCertificateCheck() : null),
};
