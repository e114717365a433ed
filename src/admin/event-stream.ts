import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { KeyEvent } from '../store/key-store.ts';
import type { AdminTokenStore } from '../store/admin-token-store.ts';
import type { AdminIdentity } from './admin-auth.ts';

const HEARTBEAT = 15_000;

export interface KeyEventSource {
  subscribe(listener: (events: readonly KeyEvent[]) => void): () => void;
}

/**
 * Server-sent events for the dashboard: one `key` event per change on the store's change
 * feed (from any node, the CLI or this API), so open pages refresh what changed. Each
 * heartbeat re-checks the caller's admin token and ends the stream once it is revoked.
 */
export class KeyEventStreams {
  readonly #source: KeyEventSource;
  readonly #tokens: AdminTokenStore;
  readonly #open = new Set<ServerResponse>();

  constructor(source: KeyEventSource, tokens: AdminTokenStore) {
    this.#source = source;
    this.#tokens = tokens;
  }

  open(request: FastifyRequest, reply: FastifyReply): void {
    const identity = request.admin as AdminIdentity;
    const headers = { ...reply.getHeaders(), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' };
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, headers as Record<string, string>);
    res.write('retry: 3000\n\n');
    this.#open.add(res);
    const unsubscribe = this.#source.subscribe((events) => {
      for (const event of events) res.write(`event: key\nid: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    const heartbeat = setInterval(() => {
      this.#tokens.getAdminTokenById(identity.tokenId).then(
        (token) => (token === null || token.revokedAt !== null ? res.end() : res.write(': ping\n\n')),
        () => res.write(': ping\n\n'),
      );
    }, HEARTBEAT);
    heartbeat.unref();
    res.once('close', () => {
      unsubscribe();
      clearInterval(heartbeat);
      this.#open.delete(res);
    });
  }

  /** Ends every stream (on shutdown: an open stream would otherwise hold the listener open). */
  closeAll(): void {
    for (const res of this.#open) res.end();
  }
}
