import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/**
 * The public keys that sign secret-scanning alerts, in the format GitHub publishes them
 * (https://api.github.com/meta/public_keys/secret_scanning):
 * `{"public_keys": [{"key_identifier": "…", "key": "-----BEGIN PUBLIC KEY-----…", "is_current": true}]}`.
 * Every listed key is accepted, current or not: while GitHub rotates its key, alerts signed
 * with the previous one are still in flight.
 */
export type AlertPublicKeys = ReadonlyMap<string, KeyObject>;

/** Why a public key list cannot be used; the message completes "expected …, found …" for the config error. */
export class AlertPublicKeysError extends Error {
  override name = 'AlertPublicKeysError';
}

/**
 * Parses a public key list: each key must be an ECDSA P-256 public key in PEM (the only kind
 * GitHub signs alerts with), and identifiers must be unique non-empty strings.
 *
 * @example parseAlertPublicKeys(readFileSync('github-keys.json', 'utf8')).get('bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c')
 */
export function parseAlertPublicKeys(text: string): AlertPublicKeys {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new AlertPublicKeysError(`expected JSON, found a parse error (${(error as Error).message})`);
  }
  const list = (document as { public_keys?: unknown } | null)?.public_keys;
  if (!Array.isArray(list) || list.length === 0) throw new AlertPublicKeysError('expected {"public_keys": [{"key_identifier", "key", "is_current"}, …]} with at least one key, found none');
  const keys = new Map<string, KeyObject>();
  list.forEach((entry: unknown, index) => {
    const { key_identifier: identifier, key } = (entry ?? {}) as { key_identifier?: unknown; key?: unknown };
    if (typeof identifier !== 'string' || identifier === '') throw new AlertPublicKeysError(`expected public_keys[${index}].key_identifier to be a non-empty string`);
    if (keys.has(identifier)) throw new AlertPublicKeysError(`expected unique key identifiers, found ${identifier} twice`);
    if (typeof key !== 'string') throw new AlertPublicKeysError(`expected public_keys[${index}].key to be a PEM public key`);
    keys.set(identifier, ecdsaP256PublicKey(key, index));
  });
  return keys;
}

function ecdsaP256PublicKey(pem: string, index: number): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new AlertPublicKeysError(`expected public_keys[${index}].key to be a PEM public key, found one that does not parse (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new AlertPublicKeysError(`expected public_keys[${index}].key to be an ECDSA P-256 public key, found ${key.asymmetricKeyType ?? 'another kind'}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}`);
  }
  return key;
}

/**
 * Whether `signature` (the `GITHUB-PUBLIC-KEY-SIGNATURE` header: base64 of an ASN.1 DER ECDSA
 * signature) is the key `identifier`'s signature, with SHA-256, over exactly the bytes of
 * `body`. The raw bytes, never a re-serialised JSON: any change to the body, whitespace
 * included, makes the signature fail. False for an unknown identifier or a malformed signature;
 * never throws.
 */
export function isSignedAlert(keys: AlertPublicKeys, identifier: string, signature: string, body: Buffer): boolean {
  const key = keys.get(identifier);
  if (key === undefined) return false;
  const decoded = Buffer.from(signature, 'base64');
  if (decoded.length === 0) return false;
  try {
    return verify('sha256', body, key, decoded);
  } catch {
    // A signature that is not DER at all: OpenSSL refuses to decode it rather than answering false.
    return false;
  }
}
