import type { Duplex } from 'node:stream';
import { closeFrame, FrameInspector, type FrameViolation } from './websocket-frames.ts';

/** How long a closing side may take to finish its close handshake before its socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

interface RelayOptions {
  maxMessageSize: number;
  /** Told once, when both sockets are gone. */
  onClosed(relay: WebSocketRelay): void;
}

/**
 * One open WebSocket: the client's socket and the upstream's, relayed byte for byte in both
 * directions with backpressure. Each direction has a frame inspector (websocket-frames.ts)
 * that bounds message sizes; a frame that breaks a rule is not relayed, and the WebSocket is
 * closed with the inspector's close code. `close(code, reason)` is how the gateway ends a
 * WebSocket itself (revoked key, idle, shutdown): a close frame to each side that is between
 * frames (always the case unless a frame is being relayed at that very moment), else the
 * connection is ended without one.
 */
export class WebSocketRelay {
  readonly #client: Duplex;
  readonly #upstream: Duplex;
  /** Client → upstream (masked frames) and upstream → client (unmasked). */
  readonly #fromClient: FrameInspector;
  readonly #fromUpstream: FrameInspector;
  readonly #onClosed: (relay: WebSocketRelay) => void;
  /** `performance.now()` of the last byte either way. */
  lastActivity = performance.now();
  #closing = false;
  #open = 2;

  constructor(client: Duplex, upstream: Duplex, options: RelayOptions) {
    this.#client = client;
    this.#upstream = upstream;
    this.#fromClient = new FrameInspector({ maxMessageSize: options.maxMessageSize, masked: true });
    this.#fromUpstream = new FrameInspector({ maxMessageSize: options.maxMessageSize, masked: false });
    this.#onClosed = options.onClosed;
    this.#wire(client, upstream, this.#fromClient);
    this.#wire(upstream, client, this.#fromUpstream);
  }

  get closing(): boolean {
    return this.#closing;
  }

  #wire(from: Duplex, to: Duplex, inspector: FrameInspector): void {
    from.on('data', (chunk: Buffer) => {
      this.lastActivity = performance.now();
      const relayable = inspector.relayable(chunk);
      if (relayable.length > 0 && !to.write(relayable)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
      if (inspector.violation !== null) this.#refused(inspector.violation);
    });
    // A side that ends (after its close frame, normally) ends the other; one that fails takes the other down.
    from.on('end', () => to.end());
    from.on('error', () => to.destroy());
    from.on('close', () => {
      // While closing, each side has its own grace to finish: one side gone does not cut the other's close frame.
      if (!this.#closing) to.destroy();
      if (--this.#open === 0) this.#onClosed(this);
    });
  }

  #refused(violation: FrameViolation): void {
    this.close(violation.code, violation.reason);
  }

  /**
   * Closes both sides with a close frame (RFC 6455 §5.5.1) where a frame may be sent, and gives
   * each `CLOSE_GRACE_MS` to answer before its socket is destroyed. Later calls do nothing.
   */
  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    // Nothing more is relayed either way: the close frames below are the last frames sent.
    this.#client.pause();
    this.#upstream.pause();
    endWith(this.#client, this.#fromUpstream.betweenFrames ? closeFrame(code, reason, false) : null);
    endWith(this.#upstream, this.#fromClient.betweenFrames ? closeFrame(code, reason, true) : null);
  }
}

function endWith(socket: Duplex, frame: Buffer | null): void {
  if (socket.destroyed) return;
  socket.removeAllListeners('data');
  // Read what the peer still sends (its own close frame), so its end arrives; it is not relayed.
  socket.on('data', () => {});
  socket.resume();
  if (frame === null) socket.destroy();
  else socket.end(frame);
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}
