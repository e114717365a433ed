import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminTokenRecord } from '../store/admin-token-store.ts';
import type { AdminIdentity } from './admin-auth.ts';
import type { AdminSession } from './admin-sessions.ts';
import { KeyEventStreams } from './event-stream.ts';

/** The part of a ServerResponse a stream uses, recording what it was sent. */
class FakeResponse extends EventEmitter {
  written = '';
  ended = false;
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    this.written += chunk;
    return true;
  }
  end(): this {
    this.ended = true;
    this.emit('close');
    return this;
  }
}

function tokenRecord(id: string, revokedAt: number | null): AdminTokenRecord {
  return { id, name: id, role: 'read', digest: 'd', displayPrefix: 'pcladmin_x', createdAt: 0, revokedAt };
}

/** Opens a stream for `tokenId` (and `sessionId`, when a dashboard session opened it). */
function openStream(streams: KeyEventStreams, tokenId: string, sessionId: string | null = null): FakeResponse {
  const response = new FakeResponse();
  const session = sessionId === null ? null : ({ id: sessionId } as AdminSession);
  const identity: AdminIdentity = { tokenId, tokenName: tokenId, role: 'read', session };
  const request = { admin: identity } as unknown as FastifyRequest;
  const reply = { getHeaders: () => ({}), hijack: () => {}, raw: response } as unknown as FastifyReply;
  streams.open(request, reply);
  return response;
}

const noEvents = { subscribe: () => () => {} };
const settle = () => new Promise((resolve) => setTimeout(resolve, 60));

describe('KeyEventStreams: a stream lives no longer than its authorisation', () => {
  it('ends the streams of a revoked or deleted token, reading each open token once per check, and leaves the others open', async () => {
    const tokens = new Map([['adm_a', tokenRecord('adm_a', null)], ['adm_b', tokenRecord('adm_b', null)], ['adm_c', tokenRecord('adm_c', null)]]);
    const reads: string[] = [];
    const store = { getAdminTokenById: async (id: string) => (reads.push(id), tokens.get(id) ?? null) };
    const streams = new KeyEventStreams(noEvents, store, { isLive: () => true }, 10);
    const [a1, a2, b, c] = [openStream(streams, 'adm_a'), openStream(streams, 'adm_a'), openStream(streams, 'adm_b'), openStream(streams, 'adm_c')];
    await settle();
    assert.equal([a1, a2, b, c].some((stream) => stream.ended), false);
    assert.ok(reads.length >= 3);
    const perCheck = reads.slice(0, 3).sort();
    assert.deepEqual(perCheck, ['adm_a', 'adm_b', 'adm_c'], 'one read per distinct token, not per stream');

    tokens.set('adm_a', tokenRecord('adm_a', 1));
    tokens.delete('adm_c');
    await settle();
    assert.deepEqual([a1.ended, a2.ended, b.ended, c.ended], [true, true, false, true]);
    streams.closeAll();
    assert.equal(b.ended, true);
  });

  it('ends a session\'s stream once the session has ended, without touching the bearer-token streams of the same token', async () => {
    const live = new Set(['s1']);
    const streams = new KeyEventStreams(noEvents, { getAdminTokenById: async (id) => tokenRecord(id, null) }, { isLive: (id) => live.has(id) }, 10);
    const session = openStream(streams, 'adm_a', 's1');
    const bearer = openStream(streams, 'adm_a');
    await settle();
    assert.equal(session.ended, false);
    live.delete('s1');
    await settle();
    assert.deepEqual([session.ended, bearer.ended], [true, false]);
    streams.closeAll();
  });

  it('keeps streams open while the store cannot be read, and ends them once it answers that the token is revoked', async () => {
    let answer: 'fail' | 'revoked' = 'fail';
    const store = {
      getAdminTokenById: async (id: string) => {
        if (answer === 'fail') throw new Error('store unreachable');
        return tokenRecord(id, 1);
      },
    };
    const streams = new KeyEventStreams(noEvents, store, { isLive: () => true }, 10);
    const stream = openStream(streams, 'adm_a');
    await settle();
    assert.equal(stream.ended, false);
    answer = 'revoked';
    await settle();
    assert.equal(stream.ended, true);
  });

  it('stops checking (no timer, no reads) when no stream is open', async () => {
    let reads = 0;
    const streams = new KeyEventStreams(noEvents, { getAdminTokenById: async (id) => (reads++, tokenRecord(id, null)) }, { isLive: () => true }, 10);
    const stream = openStream(streams, 'adm_a');
    await settle();
    stream.end();
    const after = reads;
    await settle();
    assert.ok(after > 0);
    assert.equal(reads, after);
  });
});
