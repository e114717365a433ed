/**
 * The gateway's token signing keys as one node holds them (issue 22): the current key's
 * private half, to sign delegated tokens, and the public halves of every key that still
 * verifies, by `kid`. Read from the store (`TokenSigningKeyStore`) on first need and again
 * every `refreshIntervalMs` in the background, and at once (at most every `minRefreshGapMs`)
 * when a token names a `kid` this node does not know yet: a key another node made or rotated
 * in. So a request never waits for the store unless it brings a key the node has not seen, and
 * an unknown `kid` cannot make the node read the store more than once per gap.
 *
 * The first key pair is made on first need (the first token issued) by whichever node needs
 * it first; the store lets one of two racing nodes win, and both then use the winner's key.
 * A rotation retires the current key for `overlapMs`, at least the longest token lifetime
 * plus the refresh interval, so every token any node signed with it still verifies until it
 * expires.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { AuditActor } from '../../store/audit-log.ts';
import type { NewTokenSigningKey, TokenSigningKeyRecord, TokenSigningKeyStore } from '../../store/token-signing-key-store.ts';
import { nonceSecretOf } from './server-nonce.ts';

const ALGORITHM = 'ES256';

export interface TokenKeyRingOptions {
  /** How long a retired key still verifies: at least the longest token lifetime plus `refreshIntervalMs`. */
  readonly overlapMs: number;
  /** How often the keys are read again in the background. Default 30 s. */
  readonly refreshIntervalMs?: number;
  /** The least time between two reads caused by unknown `kid`s. Default 5 s. */
  readonly minRefreshGapMs?: number;
  /** Told of a background read that failed (the keys held stay in use). */
  readonly onError?: (error: unknown) => void;
  readonly now?: () => number;
}

/** What a node verifies tokens and nonces with. */
export interface VerificationKeys {
  readonly publicKeys: ReadonlyMap<string, CryptoKey>;
  /** The server-nonce secret (`server-nonce.ts`), from the newest key; null with no key. */
  readonly nonceSecret: Buffer | null;
}

/** The key new tokens are signed with. */
interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

interface LoadedKeys extends VerificationKeys {
  readonly signer: SigningKey | null;
}

/** The JWK members of an ES256 key pair, private ones last. */
function asRecord(jwk: JWK): Record<string, string> {
  return Object.fromEntries(Object.entries(jwk).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** A fresh ES256 key pair with a random `kid`, as the store keeps it. */
async function newTokenSigningKey(): Promise<NewTokenSigningKey> {
  const pair = await generateKeyPair(ALGORITHM, { extractable: true });
  const publicJwk = asRecord(await exportJWK(pair.publicKey));
  const privateJwk = asRecord(await exportJWK(pair.privateKey));
  return { kid: randomBytes(12).toString('base64url'), algorithm: ALGORITHM, publicJwk, privateJwk };
}

async function importRecords(records: readonly TokenSigningKeyRecord[]): Promise<LoadedKeys> {
  let signer: SigningKey | null = null;
  const publicKeys = new Map<string, CryptoKey>();
  for (const record of records) {
    publicKeys.set(record.kid, (await importJWK(record.publicJwk as JWK, ALGORITHM)) as CryptoKey);
    if (record.retiredAt === null && signer === null) signer = { kid: record.kid, privateKey: (await importJWK(record.privateJwk as JWK, ALGORITHM)) as CryptoKey };
  }
  const newest = records[0]?.privateJwk.d;
  return { signer, publicKeys, nonceSecret: newest === undefined ? null : nonceSecretOf(newest) };
}

export class TokenKeyRing {
  readonly #store: TokenSigningKeyStore;
  readonly #overlapMs: number;
  readonly #refreshIntervalMs: number;
  readonly #minRefreshGapMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #now: () => number;
  #loaded: LoadedKeys | null = null;
  #loading: Promise<LoadedKeys> | null = null;
  /** When the last read started, whether it succeeded or not: failures count against the gap too. */
  #lastReadAt = Number.NEGATIVE_INFINITY;

  constructor(store: TokenSigningKeyStore, options: TokenKeyRingOptions) {
    if (!Number.isInteger(options.overlapMs) || options.overlapMs < 1) throw new RangeError(`Invalid token key overlap: ${options.overlapMs} (a positive number of ms)`);
    this.#store = store;
    this.#overlapMs = options.overlapMs;
    this.#refreshIntervalMs = options.refreshIntervalMs ?? 30_000;
    this.#minRefreshGapMs = options.minRefreshGapMs ?? 5_000;
    this.#onError = options.onError ?? (() => {});
    this.#now = options.now ?? Date.now;
  }

  /**
   * The keys held (public keys by `kid`, the nonce secret): from memory, with a background
   * read once they are older than the refresh interval. Rejects only when they were never read
   * and the store cannot be reached.
   */
  keys(): VerificationKeys | Promise<VerificationKeys> {
    const loaded = this.#loaded;
    if (loaded === null) return this.#load();
    if (this.#now() - this.#lastReadAt >= this.#refreshIntervalMs) this.#refreshInBackground();
    return loaded;
  }

  /**
   * The keys after a read of the store, for a token naming a `kid` not held: null (no read)
   * when the last read started less than `minRefreshGapMs` ago or the read fails, so unknown
   * `kid`s cannot make the node read the store more than once per gap.
   */
  async keysAfterMiss(): Promise<VerificationKeys | null> {
    if (this.#now() - this.#lastReadAt < this.#minRefreshGapMs) return null;
    return this.#load().catch((error: unknown) => {
      this.#onError(error);
      return null;
    });
  }

  /** The key to sign a new token with; the first key pair of the store is made here when there is none. */
  async signingKey(by: AuditActor): Promise<SigningKey> {
    let loaded = this.#loaded ?? (await this.#load());
    if (this.#now() - this.#lastReadAt >= this.#refreshIntervalMs) this.#refreshInBackground();
    if (loaded.signer === null) {
      await this.#store.createTokenSigningKey(await newTokenSigningKey(), this.#now(), by);
      loaded = await this.#load();
    }
    if (loaded.signer === null) throw new Error('the store holds no current token signing key after one was made');
    return loaded.signer;
  }

  /** Retires the current key (it verifies `overlapMs` more) and signs with a new one from now on. Returns the retired `kid`. */
  async rotate(by: AuditActor): Promise<string | null> {
    const retired = await this.#store.rotateTokenSigningKey(await newTokenSigningKey(), this.#overlapMs, this.#now(), by);
    await this.#load();
    return retired;
  }

  #refreshInBackground(): void {
    if (this.#loading === null) this.#load().catch(this.#onError);
  }

  /** One read at a time: callers during a read share it. */
  #load(): Promise<LoadedKeys> {
    this.#loading ??= (async () => {
      try {
        const at = this.#now();
        this.#lastReadAt = at;
        const keys = await importRecords(await this.#store.listTokenSigningKeys(at));
        this.#loaded = keys;
        return keys;
      } finally {
        this.#loading = null;
      }
    })();
    return this.#loading;
  }
}
