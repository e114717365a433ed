import type { TLSSocket } from 'node:tls';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import { keyStatus } from '../../keys/key-record.ts';
import { verifyDelegatedToken, type DelegatedTokenClaims, type DelegatedTokenResult, type DelegatedTokenVerifier } from '../../verify/dpop/delegated-token.ts';
import { BoundedMap } from '../../verify/bounded-map.ts';
import { verifyDpopProof, type DpopProofSettings } from '../../verify/dpop/dpop-proof.ts';
import type { RevokedTokenList } from '../../verify/dpop/revoked-tokens.ts';
import type { ServerNonces } from '../../verify/dpop/server-nonce.ts';
import type { TokenKeyRing, VerificationKeys } from '../../verify/dpop/token-key-ring.ts';
import type { CachedKey, KeyVerifier } from '../../verify/key-verifier.ts';
import type { Check, CheckOutcome, CheckResult, RequestContext } from '../request-context.ts';
import { DelegatedKeys } from './delegated-key.ts';
import { dpopHeaderReader } from './dpop-header-reader.ts';

/** The headers the upstream learns a delegated request by, besides `X-Portcullis-Key-Id` (the parent's). */
const TOKEN_ID_HEADER = 'x-portcullis-token-id';
const TOKEN_SCOPES_HEADER = 'x-portcullis-token-scopes';

const RETRY_SOON = [['retry-after', '5']] as const;
const STORE_UNAVAILABLE = denial('store_unavailable', null, RETRY_SOON);
const STORE_OUT_OF_REACH = denial('store_unavailable', 'The key store has been unreachable for too long to trust cached keys; try again shortly.', RETRY_SOON);
const KEY_AND_TOKEN = denial('key_ambiguous', 'The request carries both an API key and a DPoP-bound token; send one of them.');
/** Proofs are compared with the clock the tokens were signed by; this much skew between nodes is tolerated. */
const TOKEN_CLOCK_TOLERANCE_MS = 5000;
/** Verified tokens kept per process (each a few hundred bytes). */
const VERIFIED_TOKENS = 10_000;

export interface DpopCheckOptions {
  readonly keys: Pick<TokenKeyRing, 'keys' | 'keysAfterMiss'>;
  readonly verifier: Pick<KeyVerifier, 'lookupById' | 'freshUntil' | 'storeReachable'>;
  readonly proofs: DpopProofSettings;
  /** Null when server nonces are off (`dpop.nonce: false`). */
  readonly nonces: ServerNonces | null;
  /** `scheme://host[:port]` clients reach the gateway by, when a proxy in front changes it; null: the listener's scheme and the Host header. */
  readonly publicOrigin: string | null;
  /** The tokens revoked one by one, read from the store on every node; absent only in tests that need none. */
  readonly revoked?: Pick<RevokedTokenList, 'loaded' | 'freshUntil' | 'isRevoked' | 'refresh'>;
  onStoreError(error: unknown): void;
}

/**
 * Stage 6, before key auth: a request with `Authorization: DPoP <token>` (RFC 9449) is
 * authenticated by the delegated token and its proof, then runs as the token's parent key with
 * the token's scopes (`delegated-key.ts`). In order: exactly one token and no API key beside
 * it; the token (type, `kid`, signature, claims, expiry), then its id against the tokens revoked
 * one by one (on every request, the token's verdict cached or not); the request's `Origin` among the
 * token's; the proof, every check of §4.3 with the token's `cnf.jkt` and the server nonce;
 * then the parent key, looked up by id through the key verifier, so a revoked, expired or
 * quarantined parent ends its tokens wherever the change feed reaches. A request without a
 * DPoP token passes untouched (one property read); key auth then decides.
 */
export class DpopCheck implements Check {
  readonly name = 'dpop';
  readonly requestHeaders = dpopHeaderReader;
  readonly #options: DpopCheckOptions;
  readonly #delegated = new DelegatedKeys();
  readonly #parentRefusals: Readonly<Record<'revoked' | 'expired' | 'quarantined', Denial>>;
  #tokenVerifier: DelegatedTokenVerifier | null = null;
  /**
   * Tokens whose signature this process has checked, with their claims: a browser sends the same
   * token with every request, and its ES256 check was a third of a DPoP request's cost. Expiry and
   * the signing key (still held: not past its retirement) are checked again on every request; only
   * genuine tokens get here, so its size is bounded by what the gateway issued, and by this cap.
   */
  readonly #verifiedTokens = new BoundedMap<string, DelegatedTokenClaims>(VERIFIED_TOKENS);

  constructor(options: DpopCheckOptions) {
    this.#options = options;
    const challenge = options.proofs.refusals.invalidTokenChallenge;
    this.#parentRefusals = { revoked: denial('key_revoked', null, challenge), expired: denial('key_expired', null, challenge), quarantined: denial('key_quarantined', null, challenge) };
  }

  run(context: RequestContext): CheckOutcome {
    const presented = context.dpop;
    if (presented === null || presented.tokens.length === 0) return null;
    const refusals = this.#options.proofs.refusals;
    if (presented.tokens.length > 1) return refusals.token.multiple;
    if (context.credential !== null) return KEY_AND_TOKEN;
    return this.#authenticate(context, presented.tokens[0] as string, presented.proofs);
  }

  async #authenticate(context: RequestContext, token: string, proofs: readonly string[]): Promise<CheckResult> {
    let keys: VerificationKeys;
    try {
      keys = await this.#options.keys.keys();
    } catch (error) {
      this.#options.onStoreError(error);
      return STORE_UNAVAILABLE;
    }
    const verdict = await this.#verifyToken(token, keys, context.now);
    if (!verdict.ok) return verdict.denial;
    const { claims } = verdict;
    const revoked = await this.#revocationOf(claims.jti, context.now);
    if (revoked !== null) return revoked;
    const origin = context.req.headers.origin;
    if (origin !== undefined && !claims.origins.includes(origin)) return this.#options.proofs.refusals.originNotAllowed;
    const nonce = this.#options.nonces !== null && keys.nonceSecret !== null ? this.#options.nonces.required(keys.nonceSecret, context.now) : undefined;
    const proof = await verifyDpopProof(
      { proof: proofs.length === 0 ? undefined : proofs, method: context.req.method as string, url: this.#requestUri(context), accessToken: token, expectedThumbprint: claims.jkt, now: context.now, ...(nonce === undefined ? {} : { nonce }) },
      this.#options.proofs,
    );
    if (!proof.ok) return proof.denial;
    // RFC 9449 §8.2: the server may send a fresh nonce with any response; the client keeps the latest.
    if (nonce !== undefined) (context.responseHeaders ??= []).push('dpop-nonce', nonce.current);
    const parent = await this.#parentOf(context, claims.parentKeyId);
    if ('code' in parent) return parent;
    context.key = this.#delegated.of(parent, claims.scopes);
    context.upstreamHeaders.push(TOKEN_ID_HEADER, claims.jti, TOKEN_SCOPES_HEADER, context.key.record.scopes.join(' '));
    return null;
  }

  /** The token's verdict; a `kid` this node does not hold makes it read the keys again (at most once per gap) and retry. */
  async #verifyToken(token: string, keys: VerificationKeys, now: number): Promise<DelegatedTokenResult> {
    const known = this.#verifiedTokens.get(token);
    if (known !== undefined && known.expiresAt > now && keys.publicKeys.has(known.kid)) return { ok: true, claims: known };
    let verdict = await verifyDelegatedToken(token, this.#verifierFor(keys), now);
    if (!verdict.ok && verdict.reason === 'unknownKey') {
      const fresher = await this.#options.keys.keysAfterMiss();
      if (fresher !== null) verdict = await verifyDelegatedToken(token, this.#verifierFor(fresher), now);
    }
    if (verdict.ok) this.#verifiedTokens.set(token, verdict.claims);
    return verdict;
  }

  /** Null when the token is not revoked; its refusal, or 503 when the revoked list cannot be trusted (fail closed). */
  async #revocationOf(tokenId: string, now: number): Promise<Denial | null> {
    const list = this.#options.revoked;
    if (list === undefined) return null;
    if (!list.loaded) {
      try {
        await list.refresh();
      } catch (error) {
        this.#options.onStoreError(error);
        return STORE_UNAVAILABLE;
      }
    }
    if (list.isRevoked(tokenId)) return this.#options.proofs.refusals.token.revoked;
    return now > list.freshUntil ? STORE_OUT_OF_REACH : null;
  }

  #verifierFor(keys: VerificationKeys): DelegatedTokenVerifier {
    if (this.#tokenVerifier?.keys !== keys.publicKeys) this.#tokenVerifier = { keys: keys.publicKeys, refusals: this.#options.proofs.refusals, clockToleranceMs: TOKEN_CLOCK_TOLERANCE_MS };
    return this.#tokenVerifier;
  }

  /**
   * The URI the request was sent to, as the client named it: the listener's scheme (or
   * `dpop.publicUrl`), the Host header, and the request target as received. `htu` is compared
   * with it after both are normalised by the canonical path rules (proof-target.ts).
   */
  #requestUri(context: RequestContext): string {
    const target = context.req.url as string;
    if (this.#options.publicOrigin !== null) return this.#options.publicOrigin + target;
    const scheme = (context.req.socket as TLSSocket).encrypted === true ? 'https' : 'http';
    return `${scheme}://${typeof context.host === 'string' ? context.host : ''}${target}`;
  }

  /** The parent key, current as the change feed keeps it, or why the token no longer works. */
  async #parentOf(context: RequestContext, parentKeyId: string): Promise<CachedKey | Denial> {
    const { verifier } = this.#options;
    let parent: CachedKey | null;
    try {
      parent = await verifier.lookupById(parentKeyId);
    } catch (error) {
      this.#options.onStoreError(error);
      return STORE_UNAVAILABLE;
    }
    if (parent === null) return verifier.storeReachable ? this.#options.proofs.refusals.token.parentUnknown : STORE_UNAVAILABLE;
    context.presentedKey = parent;
    const status = keyStatus(parent.record, context.now);
    if (status !== 'active') return this.#parentRefusals[status];
    // As for a key presented itself: past `changeFeed.staleFor` memory may miss a revocation.
    if (context.now > verifier.freshUntil) return STORE_OUT_OF_REACH;
    return parent;
  }
}
