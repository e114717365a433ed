/**
 * One server certificate for the TLS rows, made with the project's certs module into the
 * run's work folder (so both TLS rows present the same ECDSA P-256 certificate).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const made = new Map<string, Promise<{ certPath: string; keyPath: string }>>();

export function benchCertificate(workDir: string): Promise<{ certPath: string; keyPath: string }> {
  let certificate = made.get(workDir);
  if (certificate === undefined) {
    certificate = (async () => {
      const { createCertificateAuthority, issueServerCertificate } = await import('../src/certs/dev-certificates.ts');
      const ca = await createCertificateAuthority('Portcullis bench CA');
      const server = await issueServerCertificate(ca, ['127.0.0.1', 'localhost']);
      const certPath = join(workDir, 'bench-server.crt');
      const keyPath = join(workDir, 'bench-server.key');
      await writeFile(certPath, server.cert);
      await writeFile(keyPath, server.key, { mode: 0o600 });
      return { certPath, keyPath };
    })();
    made.set(workDir, certificate);
  }
  return certificate;
}
