import { ConfigError } from '../../config/config-error.ts';
import type { ConfigFragment } from '../../config/config-fragment.ts';
import { duration } from '../../config/option-schemas.ts';
import { parseDuration } from '../../http/units.ts';
import type { Policy } from '../policy.ts';
import type { RequestContext } from '../request-context.ts';
import type { ExpectedDigest } from './content-digest.ts';
import { createSignedBodyCheck } from './signed-body-check.ts';
import type { LimiterBackend } from '../../limits/limiter-backend.ts';
import { SharedReplayClaims } from '../../verify/shared-replay.ts';
import { SignedRequestsCheck, type SignedRequestsOptions } from './signed-requests-check.ts';

interface SignedRequestsSettings {
  signedRequests: SignedRequestsOptions;
}

const signedRequestsConfig: ConfigFragment<SignedRequestsSettings> = {
  options: {
    'signedRequests.maxAge': duration('How old a request signature may be (its `created` parameter, RFC 9421) for a key bound to a signing key; older ones get 401 `signature_expired`. Accepted signatures are remembered this long, so each is accepted once.', '1m'),
    'signedRequests.clockSkew': duration('How far in the future a signature\'s `created` may be: the clocks of the signer and the gateway differ.', '10s'),
    'signedRequests.replayCacheSize': {
      type: 'integer',
      minimum: 1000,
      maximum: 10_000_000,
      default: 200_000,
      description: 'Signatures each gateway process remembers to refuse replays (about 120 bytes each). When it is full of signatures still within `signedRequests.maxAge`, the oldest is dropped and every signature created no later than it is refused (401 `signature_expired`): the window shrinks, replays stay refused.',
    },
    'signedRequests.scheme': {
      type: 'string',
      enum: ['auto', 'http', 'https'],
      default: 'auto',
      description: 'The scheme of `@target-uri` and `@scheme` in request signatures: the listener\'s (`auto`: `https` with `tls.cert`), or the one clients use when a TLS-terminating proxy stands in front of the gateway.',
    },
  },
  read(document) {
    const raw = (document as unknown as { signedRequests: { maxAge: unknown; clockSkew: unknown; replayCacheSize: number; scheme: SignedRequestsOptions['scheme'] } }).signedRequests;
    const maxAge = parseDuration(raw.maxAge) as number;
    if (maxAge < 1000) throw new ConfigError(['signedRequests.maxAge: expected at least 1s, found a shorter duration']);
    return { signedRequests: { maxAge, clockSkew: parseDuration(raw.clockSkew) as number, replayCacheSize: raw.replayCacheSize, scheme: raw.scheme } };
  },
};

/**
 * The Content-Digest each signed request's signature covered, from the signature check (stage 7)
 * to the body check (stage 9), which runs after input validation has settled the forwarded body.
 * Keyed by the request's context, so an entry goes with its request.
 */
const expectedDigests = new WeakMap<RequestContext, ExpectedDigest>();

/** Stage 7: keys bound to a signing key need an RFC 9421 signature on every request. Always on: any key may be bound. */
export const signedRequests: Policy<SignedRequestsSettings> = {
  name: 'signed-requests',
  stage: 7,
  config: signedRequestsConfig,
  create: (config, { logger, limiter, repeatedErrors }) =>
    new SignedRequestsCheck(config.signedRequests, expectedDigests, (keyId) => logger.error({ keyId }, 'key has a signing key the gateway cannot use; refusing every request with it'), sharedSignatureClaims(limiter, repeatedErrors)),
};

/**
 * Accepted signatures claimed on every node through Redis when `redis.url` is set; while Redis
 * does not answer, this node's cache alone decides and each such check is reported (docs/security.md).
 */
function sharedSignatureClaims(limiter: LimiterBackend, repeatedErrors: (message: string) => (error: unknown) => void): SharedReplayClaims | null {
  const claim = limiter.claimOnce?.bind(limiter);
  if (claim === undefined) return null;
  const report = repeatedErrors('signature replay cache: Redis did not answer; signatures are checked against this node\'s cache only (a signature replayed on another node within the window is not refused)');
  const outage = new Error('Redis unreachable');
  return new SharedReplayClaims({ claim, namespace: 'sig:', onDegraded: () => report(outage) });
}

/** Stage 9, last: the forwarded body of a signed request held to its signed Content-Digest. */
export const signedRequestBody: Policy<never, unknown> = {
  name: 'signed-request-body',
  stage: 9,
  config: null,
  create: () => createSignedBodyCheck(expectedDigests),
};
