import { constants, type Http2Stream, type ServerHttp2Session } from 'node:http2';

/**
 * Per-connection budgets for the HTTP/2 frames a client can send that cost the server work
 * but carry no request: stream resets (rapid reset, CVE-2023-44487), PINGs and SETTINGS.
 * nghttp2 bounds the queues these frames fill; these bound their rate, which it does not.
 * A connection over a budget gets GOAWAY with ENHANCE_YOUR_CALM and is closed; other
 * connections are not touched.
 */
export interface Http2FloodLimits {
  /** Milliseconds each budget covers; counters restart after it. */
  floodInterval: number;
  /** Streams the client may reset (RST_STREAM before the response ended) per interval. */
  maxResets: number;
  /** PING frames per interval. */
  maxPings: number;
  /** SETTINGS frames per interval (the connection's first one included). */
  maxSettings: number;
}

export type Http2Flood = 'resets' | 'pings' | 'settings';

/** Why a connection was closed: it sent more frames of one kind than its budget allows. */
class Http2FloodError extends Error {
  readonly code = 'PORTCULLIS_HTTP2_FLOOD';
  readonly flood: Http2Flood;
  constructor(flood: Http2Flood) {
    super(`HTTP/2 ${flood} over budget`);
    this.flood = flood;
  }
}

/** One connection's counts in the current interval. */
class SessionBudget {
  readonly #limits: Http2FloodLimits;
  readonly #session: ServerHttp2Session;
  readonly #onFlood: (flood: Http2Flood) => void;
  #intervalStart = performance.now();
  #resets = 0;
  #pings = 0;
  #settings = 0;

  constructor(limits: Http2FloodLimits, session: ServerHttp2Session, onFlood: (flood: Http2Flood) => void) {
    this.#limits = limits;
    this.#session = session;
    this.#onFlood = onFlood;
  }

  count(flood: Http2Flood): void {
    const now = performance.now();
    if (now - this.#intervalStart >= this.#limits.floodInterval) {
      this.#intervalStart = now;
      this.#resets = this.#pings = this.#settings = 0;
    }
    let over: boolean;
    if (flood === 'resets') over = ++this.#resets > this.#limits.maxResets;
    else if (flood === 'pings') over = ++this.#pings > this.#limits.maxPings;
    else over = ++this.#settings > this.#limits.maxSettings;
    if (!over || this.#session.destroyed) return;
    this.#onFlood(flood);
    // destroy() with an error and a code sends GOAWAY carrying the code, then closes the socket
    // (without an error, Node would send NO_ERROR).
    this.#session.destroy(new Http2FloodError(flood), constants.NGHTTP2_ENHANCE_YOUR_CALM);
  }
}

const kBudget = Symbol('portcullis.http2Budget');

interface GuardedSession extends ServerHttp2Session {
  [kBudget]?: SessionBudget;
}

/** Watches every HTTP/2 connection of a server (its `session` event) against `limits`. */
export function guardHttp2Sessions(limits: Http2FloodLimits, onFlood: (flood: Http2Flood, session: ServerHttp2Session) => void): (session: ServerHttp2Session) => void {
  return function watchSession(session: GuardedSession): void {
    const budget = new SessionBudget(limits, session, (flood) => onFlood(flood, session));
    session[kBudget] = budget;
    session.on('ping', () => budget.count('pings'));
    session.on('remoteSettings', () => budget.count('settings'));
    session.on('stream', watchStream);
  };
}

// Named functions with `this` bound to the stream: no closure per stream.
function watchStream(stream: Http2Stream): void {
  stream.once('aborted', countReset);
}

function countReset(this: Http2Stream): void {
  (this.session as GuardedSession | undefined)?.[kBudget]?.count('resets');
}
