import type { FastifyInstance } from 'fastify';
import { parseDuration } from '../http/units.ts';
import { keyStatus, type KeyRecord, type KeyStatus } from '../keys/key-record.ts';
import { mintKey } from '../keys/mint-key.ts';
import type { KeySettingsUpdate } from '../store/key-store.ts';
import type { Store } from '../store/store.ts';
import { auditActor } from './admin-auth.ts';
import type { AdminRoute } from './admin-openapi.ts';
import { AdminProblem } from './admin-problems.ts';
import { registerOperation } from './admin-routes.ts';
import { adminKeyView } from './admin-views.ts';

const DEFAULT_GRACE = 3_600_000;
/** A filtered listing reads at most this many records per call, then hands back a cursor. */
const MAX_SCANNED = 5000;

interface KeyListQuery {
  q?: string;
  tag?: string;
  status?: KeyStatus;
  limit: number;
  after?: string;
}

/**
 * Keys matching a search and a status, paged by id. The store pages by tag and id only, so
 * other filters are applied here, reading at most MAX_SCANNED records per call; `next` lets
 * the caller continue from where the scan stopped even when a page holds fewer matches.
 */
async function listKeysFiltered(store: Store, query: KeyListQuery, now: number): Promise<{ items: KeyRecord[]; next: string | null }> {
  const needle = query.q?.toLowerCase();
  const items: KeyRecord[] = [];
  let after = query.after;
  let scanned = 0;
  for (;;) {
    const page = await store.listKeys({ tag: query.tag, after, limit: 500 });
    for (const record of page) {
      scanned++;
      after = record.id;
      if (needle !== undefined && !record.name.toLowerCase().includes(needle) && !record.id.toLowerCase().includes(needle)) continue;
      if (query.status !== undefined && keyStatus(record, now) !== query.status) continue;
      items.push(record);
      if (items.length === query.limit) return { items, next: record.id };
    }
    if (page.length < 500) return { items, next: null };
    if (scanned >= MAX_SCANNED) return { items, next: after ?? null };
  }
}

function notFound(id: string): AdminProblem {
  return new AdminProblem('not_found', `No key with id ${id}.`);
}

function parseTime(value: string | null): number | null {
  return value === null ? null : Date.parse(value);
}

export function registerKeyRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, store: Store, keyPrefix: string): void {
  registerKeyRecordRoutes(app, routes, store, keyPrefix);
  registerKeyRetirementRoutes(app, routes, store, keyPrefix);
}

/** Listing, creating, reading and changing keys. */
function registerKeyRecordRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, store: Store, keyPrefix: string): void {
  registerOperation(app, routes, 'listKeys', async (request) => {
    const now = Date.now();
    const query = request.query as KeyListQuery;
    const page = await listKeysFiltered(store, query, now);
    return { items: page.items.map((record) => adminKeyView(record, now)), next: page.next };
  });

  registerOperation(app, routes, 'createKey', async (request, reply) => {
    const body = request.body as { name: string; tags?: string[]; metadata?: Record<string, unknown>; expiresIn?: string };
    const now = Date.now();
    const expiresIn = body.expiresIn === undefined ? null : parseDuration(body.expiresIn);
    if (expiresIn === 0) throw new AdminProblem('request_invalid', 'expiresIn must be longer than 0s.');
    const minted = mintKey(keyPrefix);
    const record = await store.createKey(
      {
        id: minted.id, digest: minted.digest, displayPrefix: minted.displayPrefix, name: body.name.trim(), tags: body.tags ?? [], scopes: [], allowedCidrs: [],
        certFingerprint: null, rateLimit: null, quota: null, metadata: body.metadata ?? {}, expiresAt: expiresIn === null ? null : now + expiresIn,
      },
      now,
      auditActor(request),
    );
    reply.code(201).header('cache-control', 'no-store');
    return { ...adminKeyView(record, now), key: minted.key };
  });

  registerOperation(app, routes, 'getKey', async (request) => {
    const { id } = request.params as { id: string };
    const record = await store.getKeyById(id);
    if (record === null) throw notFound(id);
    return adminKeyView(record, Date.now());
  });

  registerOperation(app, routes, 'updateKey', async (request) => {
    const { id } = request.params as { id: string };
    const body = request.body as { name?: string; tags?: string[]; metadata?: Record<string, unknown>; expiresAt?: string | null };
    const changes: KeySettingsUpdate = {};
    if (body.name !== undefined) changes.name = body.name.trim();
    if (body.tags !== undefined) changes.tags = body.tags;
    if (body.metadata !== undefined) changes.metadata = body.metadata;
    if (body.expiresAt !== undefined) changes.expiresAt = parseTime(body.expiresAt);
    const now = Date.now();
    const record = await store.updateKey(id, changes, now, auditActor(request));
    if (record === null) throw notFound(id);
    return adminKeyView(record, now);
  });
}

/** Revoking keys (one, or every key with a tag) and rotating one to a successor. */
function registerKeyRetirementRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, store: Store, keyPrefix: string): void {
  registerOperation(app, routes, 'revokeKey', async (request) => {
    const { id } = request.params as { id: string };
    const { reason } = request.body as { reason?: string };
    const now = Date.now();
    const record = await store.revokeKey(id, reason?.trim() || null, now, auditActor(request));
    if (record === null) throw notFound(id);
    return adminKeyView(record, now);
  });

  registerOperation(app, routes, 'revokeKeysByTag', async (request) => {
    const { tag, reason } = request.body as { tag: string; reason?: string };
    const now = Date.now();
    const revoked = await store.revokeKeysByTag(tag, reason?.trim() || null, now, auditActor(request));
    return revoked.map((record) => adminKeyView(record, now));
  });

  registerOperation(app, routes, 'rotateKey', async (request, reply) => {
    const { id } = request.params as { id: string };
    const { grace } = request.body as { grace?: string };
    const now = Date.now();
    const old = await store.getKeyById(id);
    if (old === null) throw notFound(id);
    // The store refuses these too (in its transaction); checking first gives a clear 409.
    if (old.revokedAt !== null || old.rotatedTo !== null || keyStatus(old, now) === 'expired') {
      throw new AdminProblem('conflict', `Key ${id} is ${old.rotatedTo !== null ? `already rotated to ${old.rotatedTo}` : keyStatus(old, now)} and cannot be rotated.`);
    }
    const minted = mintKey(keyPrefix);
    const graceMs = grace === undefined ? DEFAULT_GRACE : (parseDuration(grace) as number);
    const result = await store.rotateKey(id, { id: minted.id, digest: minted.digest, displayPrefix: minted.displayPrefix }, now + graceMs, now, auditActor(request));
    if (result === null) throw notFound(id);
    reply.header('cache-control', 'no-store');
    return { ...adminKeyView(result.newKey, now), key: minted.key, replaces: id, oldKeyExpiresAt: new Date(result.oldKey.expiresAt as number).toISOString() };
  });
}
