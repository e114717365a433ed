/**
 * Server-provided DPoP nonces (RFC 9449 §8, §9): a value the server hands out in `DPoP-Nonce`
 * and requires in the `nonce` claim of proofs, so that a proof cannot be made in advance of
 * the nonce's time (a copied key used later, a proof made offline for future use).
 *
 * Every node of one gateway must accept every other node's nonces, without talking to them:
 * a nonce is an HMAC (SHA-256) of the time step (`intervalMs` long) keyed by a secret all nodes
 * share, derived from the newest token signing key. A client cannot compute the next one, and
 * the nonce of the current and of the previous step are accepted, so a nonce lives between one
 * and two steps.
 */
import { createHash, createHmac } from 'node:crypto';

/** The shared secret nonces are keyed by, from the private half of a signing key (`d` of its JWK). */
export function nonceSecretOf(privateKeyMember: string): Buffer {
  return createHash('sha256').update('portcullis dpop nonce\0').update(privateKeyMember).digest();
}

/** The nonces a proof may carry now: the current one (sent in `DPoP-Nonce`) and the one before it. */
export interface RequiredNonce {
  readonly current: string;
  readonly previous: string;
}

export class ServerNonces {
  readonly #intervalMs: number;
  #secret: Buffer | null = null;
  #step = Number.NaN;
  #required: RequiredNonce | null = null;

  constructor(intervalMs = 300_000) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1000) throw new RangeError(`Invalid DPoP nonce interval: ${intervalMs} (at least 1000 ms)`);
    this.#intervalMs = intervalMs;
  }

  /** The nonces accepted at `now` under `secret`; computed once per step and secret. */
  required(secret: Buffer, now: number): RequiredNonce {
    const step = Math.floor(now / this.#intervalMs);
    if (this.#required === null || step !== this.#step || secret !== this.#secret) {
      this.#required = { current: nonceFor(secret, step), previous: nonceFor(secret, step - 1) };
      this.#step = step;
      this.#secret = secret;
    }
    return this.#required;
  }
}

function nonceFor(secret: Buffer, step: number): string {
  return createHmac('sha256', secret).update(`dpop-nonce.${step}`).digest('base64url');
}
