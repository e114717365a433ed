import { createHash, createPrivateKey, randomBytes, sign, constants, type KeyObject } from 'node:crypto';

/**
 * Signs HTTP requests for a Portcullis key bound to a signing key (`portcullis keys create
 * --signing-key pub.pem`): RFC 9421 HTTP Message Signatures over `@method`, `@target-uri` and,
 * with a body, an RFC 9530 `Content-Digest`, with `created`, a fresh `nonce` and `keyid`.
 * No dependencies beyond `node:crypto`.
 *
 * @example
 * import { signRequest } from '@portcullis/node-signer';
 * const body = JSON.stringify({ item: 42 });
 * const signed = signRequest({ method: 'POST', url: 'https://api.example.com/orders', body, privateKey: pem, keyId: 'key_…' });
 * await fetch('https://api.example.com/orders', { method: 'POST', body, headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...signed } });
 */

/** The RFC 9421 algorithm a private key signs with: one per key type, as the gateway verifies. */
export type SigningAlgorithm = 'ecdsa-p256-sha256' | 'ed25519' | 'rsa-pss-sha512';

export interface SignRequestOptions {
  /** As `fetch` sends it: DELETE, GET, HEAD, OPTIONS, POST and PUT in upper case, any other method as written. */
  method: string;
  /** The absolute URL the request goes to, as `fetch` is given it. */
  url: string | URL;
  /** The exact bytes of the body (a string is sent as UTF-8); absent or null for none. */
  body?: string | Uint8Array | null;
  /** Ed25519, ECDSA P-256 or RSA (2048 bits or more) private key: a KeyObject or PEM. */
  privateKey: KeyObject | string;
  /** The Portcullis key id (`key_…`), sent as `keyid`; the gateway checks it when present. */
  keyId?: string;
  /** Other header fields to cover, by lower-case name, with the values the request will send. */
  headers?: Readonly<Record<string, string>>;
  /** Extra header names from `headers` to cover besides the defaults. */
  coverHeaders?: readonly string[];
  /** Seconds since the epoch; now by default. */
  created?: number;
  /** A unique value; 128 random bits (base64url) by default. */
  nonce?: string;
  /** The signature's label; `sig1` by default. */
  label?: string;
  /** Content-Digest algorithm: `sha-256` (default) or `sha-512`. */
  digest?: 'sha-256' | 'sha-512';
}

/** The header fields to add to the request. */
export interface SignedHeaders {
  'signature-input': string;
  signature: string;
  /** Present when the request has a body. */
  'content-digest'?: string;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };
/** The methods `fetch` sends in upper case whatever their spelling (Fetch standard, "normalize a method"); others go as written. */
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
/** An RFC 8941 Key, as a signature label must be. */
const LABEL = /^[a-z*][a-z0-9_.*-]{0,63}$/;

/** The algorithm for a private key, or an error for a key type the gateway does not verify. */
export function algorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256-sha256';
  if ((key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return 'rsa-pss-sha512';
  throw new TypeError('signRequest: the private key must be Ed25519, ECDSA P-256 or RSA of at least 2048 bits');
}

/** `Content-Digest` of a body (RFC 9530): `sha-256=:…:`. */
export function contentDigest(body: string | Uint8Array, algorithm: 'sha-256' | 'sha-512' = 'sha-256'): string {
  const digest = createHash(algorithm === 'sha-256' ? 'sha256' : 'sha512').update(body).digest('base64');
  return `${algorithm}=:${digest}:`;
}

/** An RFC 8941 String: printable ASCII, with `"` and `\` escaped. */
function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new TypeError(`signRequest: ${JSON.stringify(value.slice(0, 40))} is not printable ASCII`);
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** `@target-uri` as the gateway rebuilds it: scheme, host in lower case without its default port, path and query as sent. */
function targetUri(url: URL): string {
  const port = url.port === '' || url.port === DEFAULT_PORTS[url.protocol] ? '' : `:${url.port}`;
  return `${url.protocol}//${url.hostname.toLowerCase()}${port}${url.pathname}${url.search}`;
}

function signBase(key: KeyObject, algorithm: SigningAlgorithm, base: string): Buffer {
  const data = Buffer.from(base, 'utf8');
  if (algorithm === 'ed25519') return sign(null, data, key);
  if (algorithm === 'ecdsa-p256-sha256') return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  return sign('sha512', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 });
}

/** The headers that sign this request: add them (with the key itself) and send the body unchanged. */
export function signRequest(options: SignRequestOptions): SignedHeaders {
  const key = typeof options.privateKey === 'string' ? createPrivateKey(options.privateKey) : options.privateKey;
  const algorithm = algorithmOf(key);
  const url = new URL(options.url);
  const method = NORMALISED_METHODS.has(options.method.toUpperCase()) ? options.method.toUpperCase() : options.method;
  const values = new Map<string, string>([['@method', method], ['@target-uri', targetUri(url)]]);
  const added: Partial<SignedHeaders> = {};
  if (options.body !== undefined && options.body !== null) {
    added['content-digest'] = contentDigest(options.body, options.digest);
    values.set('content-digest', added['content-digest']);
  }
  for (const name of options.coverHeaders ?? []) {
    const lower = name.toLowerCase();
    const value = options.headers?.[lower] ?? options.headers?.[name];
    if (value === undefined) throw new TypeError(`signRequest: coverHeaders names ${name}, which headers does not have`);
    values.set(lower, value.trim());
  }
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const nonce = options.nonce ?? randomBytes(16).toString('base64url');
  const label = options.label ?? 'sig1';
  if (!LABEL.test(label)) throw new TypeError('signRequest: label must be lower-case letters, digits and _ - . * (an RFC 8941 key)');
  const components = [...values.keys()].map(sfString).join(' ');
  const keyid = options.keyId === undefined ? '' : `;keyid=${sfString(options.keyId)}`;
  const params = `(${components});created=${created}${keyid};nonce=${sfString(nonce)};alg=${sfString(algorithm)}`;
  const lines = [...values].map(([name, value]) => `"${name}": ${value}`);
  lines.push(`"@signature-params": ${params}`);
  const signature = signBase(key, algorithm, lines.join('\n')).toString('base64');
  return { ...added, 'signature-input': `${label}=${params}`, signature: `${label}=:${signature}:` };
}
