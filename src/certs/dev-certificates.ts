/**
 * Development certificates: a local CA, server certificates for given names and client
 * certificates, made offline so a complete TLS + mTLS setup takes minutes (`portcullis certs`).
 * The tests make their certificates with this module too, into temporary folders.
 *
 * Built on `@peculiar/x509` over Node's WebCrypto: a maintained, dependency-light X.509 library
 * that writes real extensions (SAN, key usage, EKU, key identifiers), so that OpenSSL, curl and
 * Node verify the results exactly as they verify production certificates. Keys are ECDSA P-256:
 * quick to make, accepted everywhere, and strong.
 *
 * These are for development and tests. A production gateway should use certificates from the
 * organisation's CA or a public one (ACME); the format on disk (PEM) is the same.
 */
import { createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

type WebCryptoKey = webcrypto.CryptoKey;
type WebCryptoKeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface IssuedCertificate {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (PKCS #8). */
  key: string;
  /** SHA-256 of the DER certificate, 64 lower-case hex digits (what `keys create --cert-fingerprint` takes). */
  fingerprint: string;
}

export interface CertificateOptions {
  /** Validity in days from now (default: 825 for leaves, 3650 for a CA). */
  days?: number;
  /** Start of validity (default: one hour ago, to absorb clock skew). */
  notBefore?: Date;
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f; // a positive INTEGER
  return bytes.toString('hex');
}

function validity(options: CertificateOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const notBefore = options.notBefore ?? new Date(Date.now() - 3_600_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + (options.days ?? defaultDays) * DAY) };
}

async function generateKeys(): Promise<WebCryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as WebCryptoKeyPair;
}

function privateKeyPem(key: WebCryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

async function issued(certificate: x509.X509Certificate, privateKey: WebCryptoKey): Promise<IssuedCertificate> {
  const fingerprint = Buffer.from(await certificate.getThumbprint('SHA-256')).toString('hex');
  return { cert: certificate.toString('pem'), key: privateKeyPem(privateKey), fingerprint };
}

/** Escapes a value for an X.500 name string (RFC 4514). */
function distinguishedName(commonName: string): string {
  return `CN=${commonName.replace(/([,+"\\<>;=#])/g, '\\$1')}`;
}

/** A self-signed CA that may sign leaf certificates only (path length 0). */
export async function createCertificateAuthority(commonName = 'Portcullis development CA', options: CertificateOptions = {}): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: distinguishedName(commonName),
    ...validity(options, 3650),
    signingAlgorithm: ALGORITHM,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  return issued(certificate, keys.privateKey);
}

async function issueLeaf(ca: Pick<IssuedCertificate, 'cert' | 'key'>, commonName: string, usage: 'server' | 'client', altNames: x509.JsonGeneralName[], options: CertificateOptions): Promise<IssuedCertificate> {
  const caCertificate = new x509.X509Certificate(ca.cert);
  const caKey = await createPrivateKey(ca.key).toCryptoKey(ALGORITHM, false, ['sign']);
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    await x509.AuthorityKeyIdentifierExtension.create(caCertificate),
  ];
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: distinguishedName(commonName),
    issuer: caCertificate.subject,
    ...validity(options, 825),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey as never,
    signingKey: caKey as never,
    extensions,
  });
  return issued(certificate, keys.privateKey);
}

/**
 * A server certificate for host names and IP addresses (each goes into the subject
 * alternative names, which is what clients check), signed by `ca`.
 */
export async function issueServerCertificate(ca: Pick<IssuedCertificate, 'cert' | 'key'>, names: readonly string[], options: CertificateOptions = {}): Promise<IssuedCertificate> {
  if (names.length === 0) throw new Error('A server certificate needs at least one host name or IP address');
  const altNames = names.map((name): x509.JsonGeneralName => (isIP(name) !== 0 ? { type: 'ip', value: name } : { type: 'dns', value: name }));
  return issueLeaf(ca, names[0] as string, 'server', altNames, options);
}

/** A client certificate (for mutual TLS) whose subject is `CN=<name>`, signed by `ca`. */
export async function issueClientCertificate(ca: Pick<IssuedCertificate, 'cert' | 'key'>, name: string, options: CertificateOptions = {}): Promise<IssuedCertificate> {
  return issueLeaf(ca, name, 'client', [], options);
}
