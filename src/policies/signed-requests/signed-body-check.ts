import { denial } from '../../http/error-catalogue.ts';
import type { Check, RequestContext } from '../request-context.ts';
import { bodyMatches, digestCheckedBody, type ExpectedDigest } from './content-digest.ts';

const MISMATCH = denial(
  'content_digest_mismatch',
  'The request body does not match its signed Content-Digest; the body was changed after it was signed, or the digest was computed over other bytes.',
  [['www-authenticate', 'Bearer realm="portcullis", error="invalid_token"']],
);
const EMPTY = Buffer.alloc(0);

/**
 * Stage 9, after input validation: the body the upstream will receive against the
 * `Content-Digest` a signature covered (signed-requests-check.ts). It runs last so that it sees
 * `forwardBody` as every other check left it: a body read whole for validation is hashed now and
 * refused before anything is sent; a streamed one (the request itself, or a size-limited stream)
 * is hashed as it passes and its last chunk held back until the digest matches
 * (content-digest.ts), so the upstream never gets a complete body the signature does not cover.
 */
export function createSignedBodyCheck(digests: WeakMap<RequestContext, ExpectedDigest>): Check {
  return {
    name: 'signed-request-body',
    run(context) {
      const expected = digests.get(context);
      if (expected === undefined) return null;
      digests.delete(context);
      const body = context.forwardBody;
      if (Buffer.isBuffer(body)) return bodyMatches(body, expected) ? null : MISMATCH;
      if (body !== null) context.forwardBody = digestCheckedBody(body, expected, MISMATCH);
      else if (!context.hasBody) return bodyMatches(EMPTY, expected) ? null : MISMATCH;
      else context.forwardBody = digestCheckedBody(context.req, expected, MISMATCH);
      return null;
    },
  };
}
