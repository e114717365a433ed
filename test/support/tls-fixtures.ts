import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate, type IssuedCertificate } from '../../src/certs/dev-certificates.ts';

export interface CertificateFiles extends IssuedCertificate {
  certPath: string;
  keyPath: string;
}

export interface TlsFixtures {
  ca: CertificateFiles;
  server: CertificateFiles;
  clientA: CertificateFiles;
  clientB: CertificateFiles;
  /** Signed by a different CA: must never be accepted. */
  stranger: CertificateFiles;
}

export function writeCertificate(directory: string, name: string, issued: IssuedCertificate): CertificateFiles {
  const certPath = join(directory, `${name}.crt`);
  const keyPath = join(directory, `${name}.key`);
  writeFileSync(certPath, issued.cert);
  writeFileSync(keyPath, issued.key, { mode: 0o600 });
  return { ...issued, certPath, keyPath };
}

/** A CA, a server certificate for 127.0.0.1/localhost, two client certificates and a stranger's, made by the certs module. */
export async function makeTlsFixtures(directory: string): Promise<TlsFixtures> {
  const ca = await createCertificateAuthority('Portcullis test CA');
  const otherCa = await createCertificateAuthority('Some other CA');
  return {
    ca: writeCertificate(directory, 'ca', ca),
    server: writeCertificate(directory, 'server', await issueServerCertificate(ca, ['127.0.0.1', 'localhost'])),
    clientA: writeCertificate(directory, 'client-a', await issueClientCertificate(ca, 'client-a')),
    clientB: writeCertificate(directory, 'client-b', await issueClientCertificate(ca, 'client-b')),
    stranger: writeCertificate(directory, 'stranger', await issueClientCertificate(otherCa, 'client-a')),
  };
}
