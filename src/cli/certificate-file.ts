import { readFileSync } from 'node:fs';
import { checkCertificatePem, checkSigningKeyPem } from '../routes/key-setting-checks.ts';
import { UsageError } from './cli-support.ts';

/** The SHA-256 fingerprint (64 lower-case hex digits) of a PEM certificate file, or a UsageError naming the flag. */
export async function readCertificateFingerprint(file: string, flag: string): Promise<string> {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  // The same SHA-256 of the DER certificate that a TLS connection reports (fingerprint256).
  const fingerprint = checkCertificatePem(pem);
  if (!fingerprint.ok) throw new UsageError(`${flag}: ${file} is not a PEM certificate`);
  return fingerprint.value;
}

/** A PEM public key file for signed requests (`--signing-key`), as its canonical SPKI PEM; null when no file is given. */
export function readSigningKeyFile(file: string | undefined, flag: string): string | null {
  if (file === undefined) return null;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const key = checkSigningKeyPem(pem);
  if (!key.ok) throw new UsageError(`${flag}: ${file}: ${key.problem}`);
  return key.value;
}
