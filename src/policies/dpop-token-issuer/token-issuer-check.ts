import { denial } from '../../http/error-catalogue.ts';
import { continueIfAwaited } from '../../http/expect-continue.ts';
import { bodyTooLarge, readBoundedBody } from '../../http/request-body.ts';
import { mintDelegatedToken } from '../../verify/dpop/delegated-token.ts';
import type { TokenKeyRing } from '../../verify/dpop/token-key-ring.ts';
import { ANSWERED, type Check, type CheckResult, type RequestContext } from '../request-context.ts';
import type { IssuerAuthentication } from './issuer-authentication.ts';
import { parseTokenRequest, scopeNotHeld } from './token-request.ts';

/** A token request is a few hundred bytes; 16 KiB holds the longest lists the token allows. */
const MAX_BODY = 16 * 1024;
const ONLY_POST = denial('method_not_allowed', 'Delegated tokens are requested with POST.', [['allow', 'POST']]);
const STORE_UNAVAILABLE = denial('store_unavailable', null, [['retry-after', '5']]);

export interface TokenIssuerOptions {
  /** The exact canonical path tokens are requested on. */
  readonly path: string;
  readonly authentication: IssuerAuthentication;
  readonly keys: Pick<TokenKeyRing, 'signingKey'>;
  /** `dpop.maxTokenLifetime`, in seconds. */
  readonly maxLifetimeSeconds: number;
  onStoreError(error: unknown): void;
}

/**
 * Stage 5, before CORS and routes, when `dpop.enabled`: the issuing endpoint of delegated
 * browser tokens. A frontend server POSTs, with its own key, the browser's DPoP key
 * thumbprint, the scopes (each one its own key grants, else 403 `scope_missing`), the origins
 * and a lifetime; it gets a token signed by the gateway that names its key as the parent. Every
 * other request passes on at the cost of one string comparison.
 */
export class TokenIssuerCheck implements Check {
  readonly name = 'dpop-token-issuer';
  readonly #options: TokenIssuerOptions;

  constructor(options: TokenIssuerOptions) {
    this.#options = options;
  }

  run(context: RequestContext): CheckResult | Promise<CheckResult> {
    if (context.path !== this.#options.path) return null;
    if (context.method !== 'POST') return ONLY_POST;
    if (context.contentLength !== undefined && Number(context.contentLength) > MAX_BODY) return bodyTooLarge(MAX_BODY);
    return this.#issue(context);
  }

  async #issue(context: RequestContext): Promise<CheckResult> {
    const parent = await this.#options.authentication.authenticate(context);
    if ('code' in parent) return parent;
    context.key = parent;
    continueIfAwaited(context.res);
    const body = await readBoundedBody(context.req, MAX_BODY);
    if (!Buffer.isBuffer(body)) return body;
    const asked = parseTokenRequest(body);
    if (typeof asked === 'string') return denial('request_invalid', asked);
    const missing = scopeNotHeld(asked.scopes, parent.record.scopes);
    if (missing !== null) return denial('scope_missing', `This key cannot delegate the scope ${JSON.stringify(missing.slice(0, 128))}: a token's scopes must be among the key's own.`);
    let signingKey;
    try {
      signingKey = await this.#options.keys.signingKey({ actor: 'gateway', address: null });
    } catch (error) {
      this.#options.onStoreError(error);
      return STORE_UNAVAILABLE;
    }
    const request = { parentKeyId: parent.record.id, scopes: asked.scopes, origins: asked.origins, jkt: asked.jkt, ...(asked.lifetime === undefined ? {} : { lifetimeSeconds: asked.lifetime }) };
    const minted = await mintDelegatedToken(request, { signingKey, now: context.now, maxLifetimeSeconds: this.#options.maxLifetimeSeconds });
    if (!minted.ok) return denial('request_invalid', minted.problem);
    return send(context, {
      token: minted.token,
      token_type: 'DPoP',
      // The lifetime granted: the token's exp − iat (iat is in whole seconds).
      expires_in: (minted.expiresAt - Math.floor(context.now / 1000) * 1000) / 1000,
      expires_at: new Date(minted.expiresAt).toISOString(),
      token_id: minted.jti,
      key_id: parent.record.id,
      scopes: asked.scopes,
      origins: asked.origins,
    });
  }
}

/** 200 with the token, never cached (RFC 6749 §5.1). */
function send(context: RequestContext, answer: Record<string, unknown>): typeof ANSWERED {
  const text = JSON.stringify(answer);
  context.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', 'x-request-id': context.requestId });
  context.res.end(text);
  return ANSWERED;
}

