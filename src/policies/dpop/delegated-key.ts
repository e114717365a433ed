import { grants } from '../../routes/scopes.ts';
import type { CachedKey } from '../../verify/key-verifier.ts';

/** Scope sets remembered per parent key; a parent that mints more distinct sets starts over. */
const MAX_SCOPE_SETS = 64;

/**
 * The key a request made with a delegated token runs as: the parent key's record (its id,
 * status, APIs, limits, quota and signing-key binding apply; not its networks and certificate
 * binding, which the issuer checked) with the token's scopes instead
 * of the parent's, each kept only while the parent still grants it, so narrowing the parent's
 * scopes after the token was issued narrows the token too.
 *
 * Made once per parent record and scope set, and kept in a WeakMap keyed by the parent's
 * cached key: a change from the feed makes a new parent object, so the delegated key is made
 * afresh from the new record; the object is stable otherwise, so usage buckets held on it stay.
 */
export class DelegatedKeys {
  readonly #byParent = new WeakMap<CachedKey, Map<string, CachedKey>>();

  of(parent: CachedKey, tokenScopes: readonly string[]): CachedKey {
    const name = tokenScopes.join(' ');
    let sets = this.#byParent.get(parent);
    const known = sets?.get(name);
    if (known !== undefined) return known;
    if (sets === undefined || sets.size >= MAX_SCOPE_SETS) this.#byParent.set(parent, (sets = new Map()));
    const held = parent.record.scopes;
    const scopes = tokenScopes.filter((scope) => held.some((granted) => grants(granted, scope)));
    // The parent's networks and client certificate bind where the parent key itself is used:
    // the issuer checked both when the frontend server asked for the token (from its address,
    // with its certificate). The token is bound instead to the browser's DPoP key, its origins and
    // its lifetime, so browsers anywhere can use it. A signing-key binding stays: a browser makes
    // no RFC 9421 signature, so a bound key's tokens are refused, and minting one is no way around it.
    const delegated: CachedKey = { record: { ...parent.record, scopes, allowedCidrs: [], certFingerprint: null }, nameHeaderValue: parent.nameHeaderValue, usageBucket: null, cacheSlot: null };
    sets.set(name, delegated);
    return delegated;
  }
}
