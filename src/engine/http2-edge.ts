import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, SecureServerOptions } from 'node:http2';
import { denial } from '../http/error-catalogue.ts';
import { http1HeadersOf } from '../http/http2-request-headers.ts';
import { sendProblem } from '../http/problem-response.ts';
import type { Http2Config } from './listener-config.ts';

/**
 * The edge between HTTP/2 and the pipeline. Node's compatibility API hands the request handler
 * an `Http2ServerRequest` and `Http2ServerResponse`, which have the members the pipeline uses
 * (`method`, `url` from `:path`, `rawHeaders`, `complete`, a readable body; `setHeader`,
 * `appendHeader`, `writeHead` with a flat header list, `write`/`end` with backpressure), and
 * whose `socket` reaches the TLS socket of the connection (address, client certificate). What
 * differs is the header list: it carries pseudo-headers and `:authority` instead of `Host`.
 * `http2Adapted` replaces it with the HTTP/1.1-shaped list (http2-request-headers.ts), so that
 * every check, and the upstream, sees what it sees for HTTP/1.1.
 *
 * It also mends two members of the response that the exchange reads to learn that the client
 * went away: `Http2ServerResponse` has no `destroyed`, and `writableFinished` (its own and its
 * stream's) turns true when the stream closes, even when the client reset it before the
 * response ended. Both are read from the stream and its reset code instead, so that a reset stream aborts its upstream request as a closed HTTP/1.1
 * connection does (exchange.ts).
 */

function streamDestroyed(this: Http2ServerResponse): boolean {
  return this.stream.destroyed;
}

/** The response went out whole: a stream reset by the client (any code but NO_ERROR) did not finish, whatever Node says. */
function streamFinished(this: Http2ServerResponse): boolean {
  const stream = this.stream;
  return stream.writableFinished && !stream.aborted && (stream.rstCode ?? 0) === 0;
}

const RESPONSE_STATE: PropertyDescriptorMap = { destroyed: { get: streamDestroyed }, writableFinished: { get: streamFinished } };

/**
 * Reshapes an HTTP/2 request for the pipeline; false when it was refused (400
 * `request_invalid`, answered here).
 */
export function http2Adapted(req: IncomingMessage, res: ServerResponse): boolean {
  // A stream not ended by its HEADERS frame carries a body (DATA frames), with or without content-length.
  const headers = http1HeadersOf(req.rawHeaders, !(req as unknown as Http2ServerRequest).stream.endAfterHeaders);
  if (!Array.isArray(headers)) {
    sendProblem(res, denial('request_invalid', headers.refused));
    return false;
  }
  // `rawHeaders` is a getter on Http2ServerRequest's prototype: an own property shadows it.
  Object.defineProperty(req, 'rawHeaders', { value: headers, enumerable: true });
  Object.defineProperties(res, RESPONSE_STATE);
  return true;
}

/**
 * `http2.createSecureServer` options: HTTP/1.1 on the same port (ALPN `http/1.1`, or no ALPN),
 * and Node's own bounds on what one connection may cost. The rate budgets (resets, PINGs,
 * SETTINGS) are http2-session-guard.ts.
 */
export function http2ServerOptions(limits: Http2Config, maxHeaderSize: number, headersTimeout: number): SecureServerOptions {
  return {
    allowHTTP1: true,
    // The header block's decoded size (CONTINUATION frames included): over it the stream is reset.
    maxHeaderListPairs: limits.maxHeaderListPairs,
    maxSessionInvalidFrames: limits.maxInvalidFrames,
    maxSessionRejectedStreams: limits.maxRejectedStreams,
    // Entries in one SETTINGS frame, and PINGs of ours left unanswered (we send none): Node's bounds.
    maxSettings: 32,
    maxOutstandingPings: 10,
    // A TLS connection that settles on no protocol this server speaks is closed after this.
    unknownProtocolTimeout: headersTimeout,
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: maxHeaderSize,
      enablePush: false,
      enableConnectProtocol: false,
    },
  };
}
