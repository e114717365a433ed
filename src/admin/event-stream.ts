import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { KeyEvent } from '../store/key-store.ts';
import type { AdminTokenStore } from '../store/admin-token-store.ts';
import type { AdminIdentity } from './admin-auth.ts';
import type { AdminSessions } from './admin-sessions.ts';

/** How often the open streams are checked against their sessions and the store's admin tokens. */
const CHECK_INTERVAL = 500;
/** A comment line this often keeps proxies from closing a quiet stream. */
const HEARTBEAT = 15_000;

export interface KeyEventSource {
  subscribe(listener: (events: readonly KeyEvent[]) => void): () => void;
}

interface OpenStream {
  readonly response: ServerResponse;
  readonly tokenId: string;
  /** The dashboard session the stream was opened with; null for a bearer token. */
  readonly sessionId: string | null;
  readonly unsubscribe: () => void;
}

/**
 * Server-sent events for the dashboard: one `key` event per change on the store's change
 * feed (from any node, the CLI or this API), so open pages refresh what changed.
 *
 * A stream is a request that never ends, so the authorisation made when it opened is checked
 * again while it is open: every 500 ms, a stream ends when its dashboard session has ended
 * (logout, idle timeout, lifetime) or its admin token is revoked. The store is the truth for
 * tokens (a revocation by the CLI or on another node leaves no trace on this one), so each
 * check reads each distinct token of the open streams once, by id; with no stream open there
 * is no timer and no read. While the store cannot be read, nothing new can be learnt there,
 * and the streams stay open.
 */
export class KeyEventStreams {
  readonly #source: KeyEventSource;
  readonly #tokens: Pick<AdminTokenStore, 'getAdminTokenById'>;
  readonly #sessions: Pick<AdminSessions, 'isLive'>;
  readonly #checkInterval: number;
  readonly #open = new Set<OpenStream>();
  #timer: NodeJS.Timeout | null = null;
  #checking = false;
  #lastHeartbeat = Date.now();

  constructor(source: KeyEventSource, tokens: Pick<AdminTokenStore, 'getAdminTokenById'>, sessions: Pick<AdminSessions, 'isLive'>, checkInterval = CHECK_INTERVAL) {
    this.#source = source;
    this.#tokens = tokens;
    this.#sessions = sessions;
    this.#checkInterval = checkInterval;
  }

  open(request: FastifyRequest, reply: FastifyReply): void {
    const identity = request.admin as AdminIdentity;
    const headers = { ...reply.getHeaders(), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' };
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, headers as Record<string, string>);
    response.write('retry: 3000\n\n');
    const unsubscribe = this.#source.subscribe((events) => {
      for (const event of events) response.write(`event: key\nid: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    const stream: OpenStream = { response, tokenId: identity.tokenId, sessionId: identity.session?.id ?? null, unsubscribe };
    this.#open.add(stream);
    response.once('close', () => this.#forget(stream));
    if (this.#timer === null) {
      this.#timer = setInterval(() => void this.#check(), this.#checkInterval);
      this.#timer.unref();
    }
  }

  /** Ends every stream (on shutdown: an open stream would otherwise hold the listener open). */
  closeAll(): void {
    for (const stream of this.#open) this.#end(stream);
  }

  async #check(): Promise<void> {
    // A slow store read (PostgreSQL) must not pile up checks behind it.
    if (this.#checking) return;
    this.#checking = true;
    try {
      const now = Date.now();
      for (const stream of this.#open) {
        if (stream.sessionId !== null && !this.#sessions.isLive(stream.sessionId, now)) this.#end(stream);
      }
      const revoked = await this.#revokedTokens();
      for (const stream of this.#open) if (revoked.has(stream.tokenId)) this.#end(stream);
      if (now - this.#lastHeartbeat >= HEARTBEAT) {
        this.#lastHeartbeat = now;
        for (const stream of this.#open) stream.response.write(': ping\n\n');
      }
    } finally {
      this.#checking = false;
    }
  }

  /** The open streams' tokens that are revoked or gone, one read per token; none when the store cannot be read. */
  async #revokedTokens(): Promise<Set<string>> {
    const ids = [...new Set([...this.#open].map((stream) => stream.tokenId))];
    try {
      const records = await Promise.all(ids.map((id) => this.#tokens.getAdminTokenById(id)));
      return new Set(ids.filter((_id, index) => {
        const record = records[index];
        return record === null || record === undefined || record.revokedAt !== null;
      }));
    } catch {
      return new Set();
    }
  }

  #end(stream: OpenStream): void {
    this.#forget(stream);
    stream.response.end();
  }

  #forget(stream: OpenStream): void {
    if (!this.#open.delete(stream)) return;
    stream.unsubscribe();
    if (this.#open.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}
