/**
 * @portcullis/browser — calls an API through Portcullis with a delegated DPoP token (RFC 9449).
 *
 * The page never holds a Portcullis key. It holds a P-256 key pair made here as a
 * non-extractable WebCrypto key and kept in IndexedDB (a script can use it to sign while the
 * page runs, but nothing can read its private half out), and a short-lived token that its own
 * frontend server asks the gateway for, bound to that key's thumbprint (`jkt`). Every request
 * carries the token and a fresh proof signed by the key, so a token copied out of the page is
 * useless elsewhere.
 *
 *   const api = await createDpopFetch({ getToken: (jkt) => askMyServer(jkt) });
 *   const response = await api('https://gateway.example/orders');
 *
 * No dependencies; ESM; runs in browsers (and in Node.js ≥ 22 with another key store).
 */

/** Where the key pair is kept between page loads. The default is IndexedDB. */
export interface KeyPairStore {
  load(): Promise<CryptoKeyPair | undefined>;
  save(pair: CryptoKeyPair): Promise<void>;
}

export interface DpopFetchOptions {
  /**
   * Asks the frontend server for a token bound to `jkt` (the key's RFC 7638 thumbprint). Called
   * before the first request and again when the gateway says the token is no longer good.
   */
  getToken(jkt: string): Promise<string>;
  /** Default: IndexedDB database `portcullis-dpop`, entry `default`. */
  keyStore?: KeyPairStore;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
}

/** `fetch`, with the token and a proof added to every request; `jkt` names the key it proves. */
export interface DpopFetch {
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  readonly jkt: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let text = '';
  for (const byte of view) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function base64urlJson(value: unknown): string {
  return base64url(new TextEncoder().encode(JSON.stringify(value)));
}

async function sha256(text: string): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/** A fresh pair whose private half can sign but never be exported. */
async function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify']);
}

/** The public key as a JWK with only the members RFC 7638 hashes (and the proof header carries). */
async function publicJwk(pair: CryptoKeyPair): Promise<{ crv: string; kty: string; x: string; y: string }> {
  const { crv, kty, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  if (crv === undefined || kty === undefined || x === undefined || y === undefined) throw new Error('portcullis: the DPoP public key could not be exported as a JWK');
  return { crv, kty, x, y };
}

/** RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order, no spaces. */
export async function thumbprintOf(jwk: { crv: string; kty: string; x: string; y: string }): Promise<string> {
  return sha256(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }));
}

/** The key pair in IndexedDB (CryptoKeys are stored as they are: non-extractable stays so). */
export function indexedDbKeyStore(database = 'portcullis-dpop', entry = 'default'): KeyPairStore {
  const open = (): Promise<IDBDatabase> => new Promise((resolve, reject) => {
    const request = indexedDB.open(database, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('keys');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const run = async <T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    const db = await open();
    try {
      return await new Promise<T>((resolve, reject) => {
        const request = work(db.transaction('keys', mode).objectStore('keys'));
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    } finally {
      db.close();
    }
  };
  return {
    load: () => run<CryptoKeyPair | undefined>('readonly', (store) => store.get(entry) as IDBRequest<CryptoKeyPair | undefined>),
    save: async (pair) => {
      await run('readwrite', (store) => store.put(pair, entry));
    },
  };
}

/** The proof's `htu`: the target URI without query and fragment (RFC 9449 §4.2). */
function targetUri(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

interface ProofInput {
  pair: CryptoKeyPair;
  jwk: { crv: string; kty: string; x: string; y: string };
  method: string;
  url: string;
  token: string;
  nonce: string | undefined;
}

/** A DPoP proof JWT for one request (RFC 9449 §4.2), with `ath` binding it to the token. */
export async function createProof({ pair, jwk, method, url, token, nonce }: ProofInput): Promise<string> {
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk };
  const payload = {
    jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
    htm: method.toUpperCase(),
    htu: targetUri(url),
    iat: Math.floor(Date.now() / 1000),
    ath: await sha256(token),
    ...(nonce === undefined ? {} : { nonce }),
  };
  const signingInput = `${base64urlJson(header)}.${base64urlJson(payload)}`;
  // WebCrypto's ECDSA signature is already the JWS form (r ‖ s, 64 bytes for P-256).
  const signature = await crypto.subtle.sign(SIGNING, pair.privateKey, new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64url(signature)}`;
}

/** The `error` of a `WWW-Authenticate: DPoP …` challenge, if the response carries one. */
function challengeError(response: Response): string | undefined {
  const header = response.headers.get('WWW-Authenticate') ?? '';
  if (!/^\s*DPoP\b/i.test(header) && !/,\s*DPoP\b/i.test(header)) return undefined;
  return /\berror="([^"]*)"/.exec(header)?.[1];
}

/**
 * `fetch` through the gateway with a delegated DPoP token. Keeps the server's latest nonce per
 * origin; retries a request once when the gateway asks for a (new) nonce, and once with a new
 * token when it refuses the token (expired or revoked parent: `getToken` decides what next).
 */
export async function createDpopFetch(options: DpopFetchOptions): Promise<DpopFetch> {
  const keyStore = options.keyStore ?? indexedDbKeyStore();
  const send = options.fetch ?? fetch;
  let pair = await keyStore.load();
  if (pair === undefined) {
    pair = await generateKeyPair();
    await keyStore.save(pair);
  }
  const keys = pair;
  const jwk = await publicJwk(keys);
  const jkt = await thumbprintOf(jwk);
  const nonces = new Map<string, string>();
  let token: Promise<string> | undefined;
  const currentToken = (): Promise<string> => (token ??= options.getToken(jkt).catch((error: unknown) => {
    token = undefined;
    throw error;
  }));

  async function attempt(request: Request): Promise<Response> {
    const bearer = await currentToken();
    const origin = new URL(request.url).origin;
    const headers = new Headers(request.headers);
    headers.set('Authorization', `DPoP ${bearer}`);
    headers.set('DPoP', await createProof({ pair: keys, jwk, method: request.method, url: request.url, token: bearer, nonce: nonces.get(origin) }));
    const response = await send(new Request(request, { headers }));
    const nonce = response.headers.get('DPoP-Nonce');
    if (nonce !== null) nonces.set(origin, nonce);
    return response;
  }

  const dpopFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    // A retry needs the body again, so each attempt sends a copy.
    let response = await attempt(request.clone());
    if (response.status === 401 && challengeError(response) === 'use_dpop_nonce' && response.headers.has('DPoP-Nonce')) {
      response = await attempt(request.clone());
    }
    if (response.status === 401 && challengeError(response) === 'invalid_token') {
      token = undefined;
      response = await attempt(request.clone());
    }
    return response;
  };
  return Object.assign(dpopFetch, { jkt });
}
