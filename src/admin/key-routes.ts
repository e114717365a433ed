import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { parseDuration } from '../http/units.ts';
import { keyStatus } from '../keys/key-record.ts';
import { mintKey } from '../keys/mint-key.ts';
import type { AuditActor } from '../store/audit-log.ts';
import type { Store } from '../store/store.ts';
import { auditActor } from './admin-auth.ts';
import type { AdminRoute } from './admin-openapi.ts';
import { AdminProblem } from './admin-problems.ts';
import { registerOperation } from './admin-routes.ts';
import { adminKeyView } from './admin-views.ts';
import type { KeyCatalogue } from './key-catalogue.ts';
import { listKeysById, listKeysSorted, type KeyListQuery, type KeySort } from './key-listing.ts';
import { checkedSettings, newKeySettings, type KeySettingsBody } from './key-settings-body.ts';
import type { UsageRollup } from './usage-rollup.ts';

const DEFAULT_GRACE = 3_600_000;

export interface KeyRouteParts {
  store: Store;
  keyPrefix: string;
  catalogue: KeyCatalogue;
  rollup: UsageRollup;
}

function notFound(id: string): AdminProblem {
  return new AdminProblem('not_found', `No key with id ${id}.`);
}

export function registerKeyRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, parts: KeyRouteParts): void {
  // Whatever this API changes, the next listing reads again (the change feed may not have moved yet).
  app.addHook('onSend', async (request, _reply, payload) => {
    if (request.method !== 'GET' && request.url.startsWith('/api/keys')) parts.catalogue.invalidate();
    return payload;
  });
  registerKeyRecordRoutes(app, routes, parts);
  registerKeyRetirementRoutes(app, routes, parts);
  registerBulkRoute(app, routes, parts);
}

/** Listing, creating, reading and changing keys. */
function registerKeyRecordRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, { store, keyPrefix, catalogue, rollup }: KeyRouteParts): void {
  registerOperation(app, routes, 'listKeys', async (request) => {
    const now = Date.now();
    const query = request.query as KeyListQuery;
    if (query.sort !== undefined) return listKeysSorted(catalogue, rollup, query as KeyListQuery & { sort: KeySort }, now);
    if (query.offset !== undefined) throw new AdminProblem('request_invalid', 'offset pages a sorted listing: give sort too.', [{ pointer: '/querystring/offset', message: 'offset needs sort' }]);
    return listKeysById(store, query, now);
  });

  registerOperation(app, routes, 'createKey', async (request, reply) => {
    const now = Date.now();
    const settings = newKeySettings(request.body as KeySettingsBody & { name: string }, now);
    const minted = mintKey(keyPrefix);
    const record = await store.createKey({ id: minted.id, digest: minted.digest, displayPrefix: minted.displayPrefix, ...settings }, now, auditActor(request));
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
    const now = Date.now();
    const changes = checkedSettings(request.body as KeySettingsBody, now);
    const record = await store.updateKey(id, changes, now, auditActor(request));
    if (record === null) throw notFound(id);
    return adminKeyView(record, now);
  });
}

/** Revoking keys (one, or every key with a tag), quarantining and releasing one, and rotating one to a successor. */
function registerKeyRetirementRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, { store, keyPrefix }: KeyRouteParts): void {
  registerOperation(app, routes, 'revokeKey', async (request) => {
    const { id } = request.params as { id: string };
    const { reason } = request.body as { reason?: string };
    const now = Date.now();
    const record = await store.revokeKey(id, reason?.trim() || null, now, auditActor(request));
    if (record === null) throw notFound(id);
    return adminKeyView(record, now);
  });

  registerOperation(app, routes, 'quarantineKey', async (request) => {
    const { id } = request.params as { id: string };
    const { reason } = request.body as { reason: string };
    const now = Date.now();
    const trimmed = reason.trim();
    if (trimmed === '') throw new AdminProblem('request_invalid', 'reason: say why the key is quarantined.', [{ pointer: '/body/reason', message: 'reason: must not be blank' }]);
    const record = await store.quarantineKey(id, trimmed, now, auditActor(request));
    if (record === null) throw notFound(id);
    return adminKeyView(record, now);
  });

  registerOperation(app, routes, 'releaseKey', async (request) => {
    const { id } = request.params as { id: string };
    const { reason } = request.body as { reason?: string };
    const now = Date.now();
    const record = await store.releaseKey(id, reason?.trim() || null, now, auditActor(request));
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

interface BulkBody {
  ids: string[];
  action: 'revoke' | 'addTag' | 'removeTag' | 'expire';
  reason?: string;
  tag?: string;
  expiresAt?: string | null;
}

/**
 * One change to many keys (the dashboard's multi-select): revoke, add or remove a tag, or set
 * the expiry. Every key's change is its own store transaction and audit entry; all of them
 * carry one change-set id (`chg_…`), returned here, that ties them together.
 */
function registerBulkRoute(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, { store }: KeyRouteParts): void {
  registerOperation(app, routes, 'changeKeys', async (request) => {
    const body = request.body as BulkBody;
    if ((body.action === 'addTag' || body.action === 'removeTag') && body.tag === undefined) throw new AdminProblem('request_invalid', 'tag: give the tag to add or remove.', [{ pointer: '/body/tag', message: 'tag: required for addTag and removeTag' }]);
    if (body.action === 'expire' && body.expiresAt === undefined) throw new AdminProblem('request_invalid', 'expiresAt: give the new expiry (or null for none).', [{ pointer: '/body/expiresAt', message: 'expiresAt: required for expire' }]);
    const changeSet = `chg_${randomBytes(12).toString('base64url')}`;
    // Every audit entry of the change records the change set's id in its details.
    const by: AuditActor = { ...auditActor(request), changeSet };
    const now = Date.now();
    const changed = [];
    const missing = [];
    for (const id of new Set(body.ids)) {
      let record;
      if (body.action === 'revoke') {
        record = await store.revokeKey(id, body.reason?.trim() || null, now, by);
      } else if (body.action === 'expire') {
        record = await store.updateKey(id, { expiresAt: body.expiresAt === null ? null : Date.parse(body.expiresAt as string) }, now, by);
      } else {
        const current = await store.getKeyById(id);
        const tag = body.tag as string;
        const tags = current === null ? [] : body.action === 'addTag' ? [...new Set([...current.tags, tag])] : current.tags.filter((held) => held !== tag);
        record = current === null ? null : await store.updateKey(id, { tags }, now, by);
      }
      if (record === null) missing.push(id);
      else changed.push(adminKeyView(record, now));
    }
    return { changeSet, keys: changed, missing };
  });
}
