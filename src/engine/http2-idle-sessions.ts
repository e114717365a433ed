import type { Http2Stream, ServerHttp2Session } from 'node:http2';

/**
 * Closes an HTTP/2 connection that has had no open stream for `idleTimeout` ms: GOAWAY
 * (NO_ERROR), then the socket, as an idle HTTP/1.1 keep-alive connection is closed after
 * `server.keepAliveTimeout`. Idle means no stream, not no frame: PINGs or SETTINGS do not keep a
 * connection open (their rate is http2-session-guard.ts's), and a stream that is open but silent
 * (a slow upstream, a slow upload) keeps it open, since Node's own `session.setTimeout` would
 * cut such a stream off.
 *
 * Opening and closing a stream costs a counter and, when the last one closes, a clock read; the
 * one timer per connection is re-armed only when it fires.
 */
class IdleWatch {
  readonly #session: ServerHttp2Session;
  readonly #idleTimeout: number;
  #openStreams = 0;
  #idleSince = performance.now();
  #timer: NodeJS.Timeout;

  constructor(session: ServerHttp2Session, idleTimeout: number) {
    this.#session = session;
    this.#idleTimeout = idleTimeout;
    this.#timer = this.#arm(idleTimeout);
  }

  streamOpened(): void {
    this.#openStreams++;
  }

  streamClosed(): void {
    if (--this.#openStreams === 0) this.#idleSince = performance.now();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.#check(), ms);
    // A connection's idle timer alone does not keep the process up.
    timer.unref();
    return timer;
  }

  #check(): void {
    const session = this.#session;
    if (session.closed || session.destroyed) return;
    if (this.#openStreams > 0) {
      this.#timer = this.#arm(this.#idleTimeout);
      return;
    }
    const idleFor = performance.now() - this.#idleSince;
    if (idleFor < this.#idleTimeout) {
      this.#timer = this.#arm(this.#idleTimeout - idleFor);
      return;
    }
    // GOAWAY with NO_ERROR; with no stream open, the connection then closes at once.
    session.close();
  }
}

const kIdle = Symbol('portcullis.http2Idle');

interface WatchedSession extends ServerHttp2Session {
  [kIdle]?: IdleWatch;
}

/** Watches every HTTP/2 connection of a server (its `session` event) for `idleTimeout` ms without a stream. */
export function closeIdleHttp2Sessions(idleTimeout: number): (session: ServerHttp2Session) => void {
  return function watchIdle(session: WatchedSession): void {
    const watch = new IdleWatch(session, idleTimeout);
    session[kIdle] = watch;
    session.on('stream', countStream);
    session.once('close', () => watch.stop());
  };
}

interface WatchedStream extends Http2Stream {
  [kIdle]?: IdleWatch;
}

// Named functions with `this` bound to the stream: no closure per stream. The watch rides on the
// stream, because Node has already cleared `stream.session` when the stream emits `close`.
function countStream(stream: WatchedStream): void {
  const watch = (stream.session as WatchedSession | undefined)?.[kIdle];
  if (watch === undefined) return;
  watch.streamOpened();
  stream[kIdle] = watch;
  stream.once('close', uncountStream);
}

function uncountStream(this: WatchedStream): void {
  this[kIdle]?.streamClosed();
}
