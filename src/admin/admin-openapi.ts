/**
 * The admin API's OpenAPI document: served at `/openapi.json`, and the source of every route's
 * request validation (`routeSchema` turns an operation's parameters and body into the schemas
 * Fastify compiles at start-up). Schemas stay within what both OpenAPI 3.1 (JSON Schema
 * 2020-12) and Fastify's ajv (draft-07) read the same way.
 */
import { LEAK_ACTIONS, TAG_PATTERN } from '../keys/key-record.ts';

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string, extra: Schema = {}): Schema => ({ type: [type, 'null'], ...extra });
const time = (description: string): Schema => nullable('string', { format: 'date-time', description });

const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001f\\u007f]*$';
const DURATION = '^\\d+(\\.\\d+)?(ms|s|m|h|d)$';
const ID = { type: 'string', pattern: '^[a-z]+_[A-Za-z0-9]{1,64}$', description: 'Key id (`key_…`) or admin token id (`adm_…`).' };

const name = { type: 'string', minLength: 1, maxLength: 128, pattern: NO_CONTROL_CHARACTERS, description: 'The client instance the key belongs to, such as `web-1`.' };
const tags = { type: 'array', maxItems: 32, uniqueItems: true, items: { type: 'string', pattern: TAG_PATTERN.source }, description: 'Tags for grouping; revoking by tag bans every key with it.' };
const metadata = { type: 'object', maxProperties: 32, description: 'Free-form JSON about the client (owner, ticket); not used by the gateway.' };
const reason = { type: 'string', maxLength: 500, pattern: NO_CONTROL_CHARACTERS, description: 'Why: recorded with the revocation and in the audit log.' };
const STATUS = ['active', 'rotating', 'quarantined', 'revoked', 'expired'];
/** The settings a key carries beyond name and tags, as `keys create` takes them (src/routes/key-setting-checks.ts checks their content). */
const settings = {
  scopes: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 128 }, description: 'What the key may do, such as `orders:read`; `orders:*` and `*` are wildcards. `GET /api/scopes` lists the scopes the routes require.' },
  apis: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 63 }, description: 'The APIs of the gateway (`apis[].name` in its config) the key may be used on; empty: every API. On any other API it is refused with 403 `key_wrong_api`.' },
  allowedCidrs: { type: 'array', maxItems: 256, items: { type: 'string', maxLength: 64 }, description: 'The key works only from these networks, such as `10.0.0.0/8` or `2001:db8::/32`; empty: from anywhere. Host bits must be zero.' },
  rateLimit: nullable('string', { maxLength: 64, description: 'Rate limit instead of `limits.keyRate`, such as `100/s` or `100/s burst 200`; null: the gateway\'s default.' }),
  quota: nullable('string', { maxLength: 64, description: 'Request quota instead of `limits.keyQuota`, such as `10000/day`; null: the default.' }),
  certFingerprint: nullable('string', { maxLength: 128, description: 'Bind the key to a client certificate by its SHA-256 fingerprint (hex, colons allowed); null: unbound.' }),
  certificate: { type: 'string', maxLength: 16384, description: 'Bind the key to this PEM client certificate (its fingerprint is stored); instead of `certFingerprint`.' },
  signingKey: nullable('string', { maxLength: 16384, description: 'Bind the key to this PEM public key (Ed25519, ECDSA P-256, or RSA of 2048 bits or more): every request with the key must then carry an RFC 9421 signature by it (docs/security.md); null: unbound.' }),
  leakAction: { enum: [...LEAK_ACTIONS, null], description: 'The key\'s own action on a leak report or an anomaly finding, over its tags\' (`tagActions`) and the global default (docs/leaks.md); a leak report takes `notify` as `quarantine`. null: inherit.' },
};
const auditFilters = [
  { name: 'actor', in: 'query', schema: { type: 'string', maxLength: 80 }, description: '`cli` or an admin token id.' },
  { name: 'action', in: 'query', schema: { type: 'string', pattern: '^[a-z_]+(\\.[a-z_]+)?$', maxLength: 40 }, description: 'An action such as `key.revoked`, or a family: `key`, `admin_token`.' },
  { name: 'target', in: 'query', schema: ID },
  { name: 'from', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'Entries at or after this time.' },
  { name: 'to', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'Entries before this time.' },
];
const named = (description: string): Schema => nullable('string', { description });

const schemas: Record<string, Schema> = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details; `code` is stable (docs/errors.md).',
    required: ['type', 'title', 'status', 'detail', 'code'],
    properties: {
      type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, code: { type: 'string' },
      errors: { type: 'array', description: 'With `request_invalid`: each refused field, as a JSON pointer into the request (`/body/allowedCidrs`) and a message.', items: { type: 'object', properties: { pointer: { type: 'string' }, message: { type: 'string' } } } },
    },
  },
  Key: {
    type: 'object',
    description: 'A key, never its secret or digest. More settings appear as gateway layers add them.',
    required: ['id', 'name', 'displayPrefix', 'status', 'tags', 'createdAt'],
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      displayPrefix: { type: 'string', description: 'The first characters of the key, such as `pcl_AbCd`.' },
      status: { type: 'string', enum: STATUS, description: '`rotating`: active, in the grace period of a rotation (`rotatedTo` names the successor). `quarantined`: refused with 403 `key_quarantined` until released.' },
      tags: { type: 'array', items: { type: 'string' } },
      quota: nullable('string'),
      scopes: { type: 'array', items: { type: 'string' } },
      apis: { type: 'array', items: { type: 'string' }, description: 'The APIs the key may be used on; empty: every API.' },
      allowedCidrs: { type: 'array', items: { type: 'string' } },
      certFingerprint: nullable('string'),
      signingKey: nullable('string', { description: 'The PEM public key signed requests are verified with; null when unbound.' }),
      leakAction: { enum: [...LEAK_ACTIONS, null], description: 'The key\'s own action on leak reports and anomaly findings; null: its tags\', else the default.' },
      rateLimit: nullable('string'),
      metadata: { type: 'object' },
      createdAt: time('When the key was created.'),
      updatedAt: time('When its settings last changed.'),
      expiresAt: time('When it stops working, if ever.'),
      revokedAt: time('When it was revoked.'),
      revokedReason: nullable('string'),
      quarantinedAt: time('When it was quarantined; null when it is not.'),
      quarantinedReason: nullable('string'),
      rotatedTo: nullable('string', { description: 'The key that replaced it.' }),
      lastUsedAt: time('Last forwarded request (written in batches, so up to `usage.flushInterval` late).'),
      lastUsedAddress: nullable('string'),
    },
  },
  NewKey: { allOf: [ref('Key'), { type: 'object', required: ['key'], properties: { key: { type: 'string', description: 'The key itself: shown only in this response.' } } }] },
  KeyPage: {
    type: 'object',
    required: ['items', 'next'],
    properties: {
      items: { type: 'array', items: ref('Key') },
      next: nullable('string', { description: 'Pass as `after` for the next page; null at the end (and always with `sort`).' }),
      nextOffset: nullable('integer', { description: 'With `sort`: pass as `offset` for the next page.' }),
      matched: { type: 'integer', description: 'With `sort`: keys matching the filters.' },
      counts: { type: 'object', description: 'With `sort`: every key by status (`total`, `active`, `rotating`, `quarantined`, `revoked`, `expired`).' },
      complete: { type: 'boolean', description: 'With `sort`: false when the store holds more keys than one listing reads (50,000).' },
      usagePending: { type: 'integer', description: 'With `sort`: steps of the window whose usage is not summed yet; each item\'s `usage` is then partial.' },
    },
  },
  CreateKey: {
    type: 'object', additionalProperties: false, required: ['name'],
    properties: { name, tags, ...settings, metadata, expiresIn: { type: 'string', pattern: DURATION, description: 'Expire after this long, such as `30d`.' }, expiresAt: time('Expire at this time (instead of `expiresIn`).') },
  },
  UpdateKey: {
    type: 'object', additionalProperties: false, minProperties: 1,
    properties: { name, tags, ...settings, metadata, expiresAt: time('New expiry time, or null for none.') },
  },
  ChangeKeys: {
    type: 'object', additionalProperties: false, required: ['ids', 'action'],
    properties: {
      ids: { type: 'array', minItems: 1, maxItems: 500, items: ID },
      action: { type: 'string', enum: ['revoke', 'addTag', 'removeTag', 'expire'] },
      reason,
      tag: { type: 'string', pattern: TAG_PATTERN.source },
      expiresAt: time('With `expire`: the new expiry, or null for none.'),
    },
  },
  ChangedKeys: {
    type: 'object',
    properties: { changeSet: { type: 'string', description: 'One id (`chg_…`) for the whole change.' }, keys: { type: 'array', items: ref('Key') }, missing: { type: 'array', items: { type: 'string' }, description: 'Ids with no key.' } },
  },
  Overview: {
    type: 'object',
    description: 'Traffic over the window from per-minute usage (summed per step over every key by the store, in one call), the keys that stand out, this node\'s health and every node\'s.',
    properties: {
      window: { type: 'string' }, step: { type: 'integer', description: 'Seconds per point.' },
      from: { type: 'string', format: 'date-time', description: 'Start of the first point.' }, to: { type: 'string', format: 'date-time', description: 'End of the last point (the end of the step in progress).' },
      points: {
        type: 'array', description: 'One per step of the window, oldest first; a step without traffic has zeros.',
        items: {
          type: 'object', required: ['t', 'requests', 'denied', 'denials'],
          properties: {
            t: { type: 'string', format: 'date-time', description: 'Start of the step.' }, requests: { type: 'integer' }, denied: { type: 'integer', description: 'Refused requests: the sum of `denials`.' },
            denials: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Refusals by error code, over every key.' },
          },
        },
      },
      codes: { type: 'array', description: 'Refusals by error code over the window, most first.', items: { type: 'object', properties: { code: { type: 'string' }, count: { type: 'integer' } } } },
      totals: {
        type: 'object',
        properties: { requests: { type: 'integer' }, denied: { type: 'integer' }, keysWithTraffic: { type: 'integer', description: 'Keys with any usage in the window.' } },
      },
      topByRequests: { type: 'array', description: 'At most 10 keys, most requests first (ties by id).', items: ref('OverviewKey') },
      topByDenials: { type: 'array', description: 'At most 10 keys with refusals, most refused first (ties by id).', items: ref('OverviewKey') },
      keys: { type: 'object', description: 'Every key by status.' }, expiringSoon: { type: 'array', items: { type: 'object' } }, recentRevocations: { type: 'array', items: { type: 'object' } },
      node: ref('Health'),
      nodes: { type: 'array', description: 'Every gateway node sharing the store, from their heartbeats: this node first (its health as of now), then the others, oldest start first.', items: ref('OverviewNode') },
    },
  },
  OverviewNode: {
    type: 'object',
    properties: {
      id: { type: 'string', description: 'Random per process start (`node_…`).' }, hostName: { type: 'string' }, pid: { type: 'integer' }, version: { type: 'string' },
      startedAt: { type: 'string', format: 'date-time' }, lastSeen: { type: 'string', format: 'date-time', description: 'Its latest heartbeat (this node: now).' },
      self: { type: 'boolean', description: 'The node that answered.' },
      state: { type: 'string', enum: ['live', 'missing'], description: '`missing`: no heartbeat for 3 of its intervals (`health.heartbeatInterval`): stopped, cut off from the store, or gone. Rows are deleted an hour after the last heartbeat.' },
      health: { type: 'object', description: 'Its health as it last wrote it: the same fields as `/api/health`.' },
    },
  },
  OverviewKey: {
    type: 'object',
    properties: {
      id: { type: 'string' }, name: { type: 'string', description: 'The key\'s id when no key has it (usage of a key that is gone).' },
      status: { type: 'string', enum: [...STATUS, 'unknown'] }, requests: { type: 'integer' }, denied: { type: 'integer' },
    },
  },
  WouldDenies: {
    type: 'object',
    description: 'Requests a policy in report mode let through that enforcing would have refused, summed across nodes; most first, at most 500 rows.',
    required: ['window', 'from', 'to', 'total', 'rows'],
    properties: {
      window: { type: 'string' }, from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' },
      total: { type: 'integer', description: 'Every would-deny in the window (also those past the 500 rows).' },
      rows: {
        type: 'array',
        items: {
          type: 'object', required: ['code', 'api', 'route', 'keyId', 'keyName', 'requests'],
          properties: {
            code: { type: 'string' }, api: { type: 'string' }, route: { type: 'string', description: 'The matched operation, the path when none matched, or `(other routes)`.' },
            keyId: nullable('string'), keyName: nullable('string'), requests: { type: 'integer' },
            firstMinute: { type: 'string', format: 'date-time' }, lastMinute: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
  },
  Scopes: {
    type: 'object',
    properties: {
      source: { type: 'string', enum: ['openapi', 'routes', 'none'], description: 'Where the gateway\'s routes come from; `none`: no scopes to suggest.' },
      scopes: { type: 'array', items: { type: 'object', properties: { scope: { type: 'string' }, operations: { type: 'array', items: { type: 'string' } } } } },
    },
  },
  AdminToken: {
    type: 'object',
    description: 'An admin token, never its secret or digest. `lastUsedAt` is this node\'s memory since it started.',
    properties: {
      id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', enum: ['read', 'write'] }, displayPrefix: { type: 'string' }, status: { type: 'string', enum: ['active', 'revoked'] },
      createdAt: time(''), revokedAt: time(''), lastUsedAt: time('Last call with it on this node.'), lastUsedAddress: nullable('string'), current: { type: 'boolean', description: 'The token of this call.' },
    },
  },
  NewAdminToken: { allOf: [ref('AdminToken'), { type: 'object', required: ['token'], properties: { token: { type: 'string', description: 'The token itself: shown only in this response.' } } }] },
  CreateAdminToken: {
    type: 'object', additionalProperties: false, required: ['name', 'role'],
    properties: { name: { ...name, description: 'Who or what the token is for, such as `ops-laptop`.' }, role: { type: 'string', enum: ['read', 'write'] } },
  },
  Revoke: { type: 'object', additionalProperties: false, properties: { reason } },
  Quarantine: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: { ...reason, minLength: 1, description: 'Why, such as where the key was found: recorded with the quarantine and in the audit log.' } } },
  Release: { type: 'object', additionalProperties: false, properties: { reason: { ...reason, description: 'Why: recorded in the audit log.' } } },
  RevokeToken: {
    type: 'object', additionalProperties: false, required: ['reason'],
    properties: { reason: { ...reason, minLength: 1 }, keyId: { type: 'string', pattern: ID.pattern, description: 'The parent key the token was issued to, recorded with the revocation (it must exist).' } },
  },
  RevokedToken: {
    type: 'object', required: ['tokenId', 'keyId', 'changed', 'heldUntil'],
    properties: {
      tokenId: { type: 'string' }, keyId: nullable('string'), changed: { type: 'boolean', description: 'False when the token was already revoked (nothing changed).' },
      heldUntil: { type: 'string', format: 'date-time', description: 'When the revocation is purged: the longest a token may live (24 h) and 5 minutes after this call.' },
    },
  },
  RevokeByTag: { type: 'object', additionalProperties: false, required: ['tag'], properties: { tag: { type: 'string', pattern: TAG_PATTERN.source }, reason } },
  Rotate: { type: 'object', additionalProperties: false, properties: { grace: { type: 'string', pattern: DURATION, description: 'How long the old key keeps working (default `1h`; `0s` ends it now).' } } },
  Rotated: { allOf: [ref('NewKey'), { type: 'object', required: ['replaces'], properties: { replaces: { type: 'string' }, oldKeyExpiresAt: time('When the old key stops working.') } }] },
  KeyUsage: {
    type: 'object',
    properties: {
      window: { type: 'string' }, step: { type: 'integer', description: 'Seconds per point.' },
      points: { type: 'array', items: { type: 'object', properties: { t: { type: 'string', format: 'date-time' }, requests: { type: 'integer' }, denied: { type: 'integer' }, bytesIn: { type: 'integer' }, bytesOut: { type: 'integer' } } } },
      totals: { type: 'object' }, denials: { type: 'object', description: 'Refusals in the window, by error code.' },
      addresses: { type: 'array', items: { type: 'object', properties: { address: { type: 'string' }, lastSeen: { type: 'string' }, minutes: { type: 'integer' } } } },
      websockets: {
        type: 'object',
        description: 'WebSockets opened with the key (the upstream answered 101) and the most open at once on one node, in the window and per point.',
        properties: {
          opened: { type: 'integer' }, peak: { type: 'integer' },
          points: { type: 'array', items: { type: 'object', properties: { t: { type: 'string', format: 'date-time' }, opened: { type: 'integer' }, peak: { type: 'integer' } } } },
        },
      },
    },
  },
  ApiUsage: {
    type: 'object',
    properties: {
      window: { type: 'string' }, step: { type: 'integer', description: 'Seconds per point.' }, from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' },
      apis: {
        type: 'array',
        description: 'Each API with requests in the window (`default` with a single upstream), busiest first. Every request matched to an API counts, with or without a key; a request refused before an API matched is in none.',
        items: {
          type: 'object',
          properties: {
            api: { type: 'string' }, requests: { type: 'integer' }, forwarded: { type: 'integer' },
            denied: { type: 'integer', description: 'Refusals and upstream errors the gateway answered (every outcome but `forwarded` and `aborted`).' },
            aborted: { type: 'integer', description: 'Forwarded requests the client or the upstream broke off.' },
            outcomes: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Requests by outcome: `forwarded`, `aborted` or the error code.' },
            points: { type: 'array', items: { type: 'object', properties: { t: { type: 'string', format: 'date-time' }, requests: { type: 'integer' }, denied: { type: 'integer' } } } },
          },
        },
      },
    },
  },
  UsageSummary: { type: 'object', properties: { window: { type: 'string' }, keys: { type: 'array', items: { type: 'object' } } } },
  AuditEntry: {
    type: 'object',
    properties: {
      seq: { type: 'integer' }, at: { type: 'string', format: 'date-time' }, actor: { type: 'string', description: '`cli` or an admin token id.' },
      actorName: named('The admin token\'s name; `command line` for `cli`.'),
      address: nullable('string'), action: { type: 'string' }, target: { type: 'string' }, targetName: named('The key\'s or admin token\'s name.'), reason: nullable('string'), details: { type: 'object' }, hash: { type: 'string' },
    },
  },
  AuditPage: { type: 'object', properties: { items: { type: 'array', items: ref('AuditEntry') }, next: nullable('integer', { description: 'Pass as `before` for the next page.' }) } },
  AuditVerification: { type: 'object', properties: { ok: { type: 'boolean' }, entries: { type: 'integer' }, seq: nullable('integer'), problem: { type: 'string' }, head: { type: 'object' } } },
  Login: { type: 'object', additionalProperties: false, required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 200 } } },
  Session: {
    type: 'object',
    properties: { tokenId: { type: 'string' }, tokenName: { type: 'string' }, role: { type: 'string', enum: ['read', 'write'] }, csrfToken: nullable('string', { description: 'Send as `X-CSRF-Token` on every change made with the session cookie.' }), expiresAt: time('') },
  },
  Health: {
    type: 'object',
    description: 'The same report as the health listener (src/health/health-report.ts).',
    properties: {
      status: { type: 'string', enum: ['ok', 'degraded', 'not_ready'] },
      ready: { type: 'boolean' },
      reasons: { type: 'array', items: { type: 'string' } },
      store: { type: 'object' },
      changeFeed: { type: 'object' },
    },
  },
};

const window = { name: 'window', in: 'query', schema: { type: 'string', enum: ['1h', '6h', '24h', '7d'], default: '1h' }, description: 'How far back to look.' };
const idParameter = { name: 'id', in: 'path', required: true, schema: ID };

const problemResponses = (...statuses: number[]): Schema =>
  Object.fromEntries(statuses.map((status) => [String(status), { description: 'A problem (see `code`).', content: { 'application/problem+json': { schema: ref('Problem') } } }]));
const json = (schema: Schema, description = 'OK'): Schema => ({ description, content: { 'application/json': { schema } } });
const body = (schema: string): Schema => ({ required: true, content: { 'application/json': { schema: ref(schema) } } });

interface Operation {
  operationId: string;
  summary: string;
  'x-role': 'public' | 'read' | 'write';
  parameters?: Schema[];
  requestBody?: Schema;
  responses: Schema;
}

const read = (operation: Omit<Operation, 'x-role'>): Operation => ({ ...operation, 'x-role': 'read', responses: { ...operation.responses, ...problemResponses(401, 403) } });
const write = (operation: Omit<Operation, 'x-role'>): Operation => ({ ...operation, 'x-role': 'write', responses: { ...operation.responses, ...problemResponses(400, 401, 403) } });
const open = (operation: Omit<Operation, 'x-role'>): Operation => ({ ...operation, 'x-role': 'public' });

export const adminPaths: Record<string, Record<string, Operation>> = {
  '/api/keys': {
    get: read({
      operationId: 'listKeys', summary: 'List keys, with filters and paging',
      parameters: [
        { name: 'q', in: 'query', schema: { type: 'string', maxLength: 128 }, description: 'Part of the name or id (case-insensitive).' },
        { name: 'tag', in: 'query', schema: { type: 'string', pattern: TAG_PATTERN.source } },
        { name: 'status', in: 'query', schema: { type: 'string', enum: STATUS } },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
        { name: 'after', in: 'query', schema: ID, description: 'Without `sort`: keys whose id sorts after this one.' },
        { name: 'sort', in: 'query', schema: { type: 'string', enum: ['name', 'created', 'lastUsed', 'requests', 'status'] }, description: 'Sort every key by this column (ties by id) and page with `offset`; the answer adds totals.' },
        { name: 'order', in: 'query', schema: { type: 'string', enum: ['asc', 'desc'], default: 'desc' } },
        { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 1000000 } },
        { ...window, description: 'With `sort`: the period of each key\'s `usage` (requests and refusals).', schema: { ...window.schema, default: '24h' } },
      ],
      responses: { 200: json(ref('KeyPage')), ...problemResponses(400) },
    }),
    post: write({ operationId: 'createKey', summary: 'Create a key; the response is the only time it is shown', requestBody: body('CreateKey'), responses: { 201: json(ref('NewKey'), 'Created') } }),
  },
  '/api/keys/bulk': {
    post: write({ operationId: 'changeKeys', summary: 'Revoke, tag, untag or set the expiry of many keys at once, as one change set', requestBody: body('ChangeKeys'), responses: { 200: json(ref('ChangedKeys')) } }),
  },
  '/api/keys/revoke': {
    post: write({ operationId: 'revokeKeysByTag', summary: 'Revoke every unrevoked key with a tag', requestBody: body('RevokeByTag'), responses: { 200: json({ type: 'array', items: ref('Key') }) } }),
  },
  '/api/keys/{id}': {
    get: read({ operationId: 'getKey', summary: 'One key', parameters: [idParameter], responses: { 200: json(ref('Key')), ...problemResponses(404) } }),
    patch: write({ operationId: 'updateKey', summary: 'Change a key\'s settings', parameters: [idParameter], requestBody: body('UpdateKey'), responses: { 200: json(ref('Key')), ...problemResponses(404) } }),
  },
  '/api/keys/{id}/revoke': {
    post: write({ operationId: 'revokeKey', summary: 'Revoke a key (in force on every node within a poll interval)', parameters: [idParameter], requestBody: body('Revoke'), responses: { 200: json(ref('Key')), ...problemResponses(404) } }),
  },
  '/api/keys/{id}/quarantine': {
    post: write({ operationId: 'quarantineKey', summary: 'Quarantine a key: refused with 403 key_quarantined on every node within a poll interval, until released or revoked (a key already quarantined or revoked is left as it is)', parameters: [idParameter], requestBody: body('Quarantine'), responses: { 200: json(ref('Key')), ...problemResponses(404) } }),
  },
  '/api/keys/{id}/release': {
    post: write({ operationId: 'releaseKey', summary: 'Lift a key\'s quarantine (a key not quarantined is left as it is)', parameters: [idParameter], requestBody: body('Release'), responses: { 200: json(ref('Key')), ...problemResponses(404) } }),
  },
  '/api/keys/{id}/rotate': {
    post: write({ operationId: 'rotateKey', summary: 'Issue a replacement; the old key works for a grace period', parameters: [idParameter], requestBody: body('Rotate'), responses: { 200: json(ref('Rotated')), ...problemResponses(404, 409) } }),
  },
  '/api/keys/{id}/usage': {
    get: read({ operationId: 'getKeyUsage', summary: 'A key\'s requests, denials, bytes and addresses over time', parameters: [idParameter, window], responses: { 200: json(ref('KeyUsage')), ...problemResponses(404) } }),
  },
  '/api/usage': {
    get: read({ operationId: 'getUsage', summary: 'Busiest keys over a window', parameters: [window, { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } }], responses: { 200: json(ref('UsageSummary')) } }),
  },
  '/api/usage/apis': {
    get: read({ operationId: 'getApiUsage', summary: 'Requests, refusals and outcomes per API over a window', parameters: [window], responses: { 200: json(ref('ApiUsage')) } }),
  },
  '/api/overview': {
    get: read({ operationId: 'getOverview', summary: 'Traffic and refusals by code over a window, top keys, keys expiring soon, recent revocations, the health of every node', parameters: [window], responses: { 200: json(ref('Overview')) } }),
  },
  '/api/would-denies': {
    get: read({ operationId: 'getWouldDenies', summary: 'What the policies in report mode would have refused over a window, by code, API, route and key (as `portcullis report`)', parameters: [window], responses: { 200: json(ref('WouldDenies')) } }),
  },
  '/api/scopes': {
    get: read({ operationId: 'listScopes', summary: 'The scopes the gateway\'s routes require, with the operations that need each', responses: { 200: json(ref('Scopes')) } }),
  },
  '/api/audit': {
    get: read({
      operationId: 'listAudit', summary: 'The audit log, newest first, filtered; a page reads at most 10,000 entries, then `next` continues',
      parameters: [
        ...auditFilters,
        { name: 'before', in: 'query', schema: { type: 'integer', minimum: 1 } },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
      ],
      responses: { 200: json(ref('AuditPage')) },
    }),
  },
  '/api/audit/export': {
    get: read({
      operationId: 'exportAudit', summary: 'The filtered audit log as a download: JSON Lines or CSV, newest first, at most 100,000 entries',
      parameters: [...auditFilters, { name: 'format', in: 'query', schema: { type: 'string', enum: ['jsonl', 'csv'], default: 'jsonl' } }],
      responses: { 200: { description: 'One entry per line', content: { 'application/jsonl': {}, 'text/csv': {} } } },
    }),
  },
  '/api/audit/verify': {
    get: read({ operationId: 'verifyAudit', summary: 'Check the audit log\'s hash chain', responses: { 200: json(ref('AuditVerification')) } }),
  },
  '/api/incidents': {
    get: read({
      operationId: 'listIncidents', summary: 'Leak incidents from the audit log, newest first: secret-scanning alerts, presented keys, anomalies and quarantines, with the key\'s status now (as `portcullis incidents list --json`)',
      parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }],
      responses: { 200: json({ type: 'array', items: { type: 'object', properties: {
        seq: { type: 'integer' }, at: { type: 'string' }, kind: { type: 'string', enum: ['alert', 'presentation', 'anomaly', 'quarantine'] }, keyId: { type: 'string' },
        action: { type: 'string' }, actor: { type: 'string' }, address: { type: ['string', 'null'] }, reason: { type: ['string', 'null'] },
        url: { type: ['string', 'null'] }, source: { type: ['string', 'null'] }, keyName: { type: ['string', 'null'] }, keyStatus: { type: ['string', 'null'] },
      } } }) },
    }),
  },
  '/api/webhooks/deliveries': {
    get: read({
      operationId: 'listWebhookDeliveries', summary: 'The webhook delivery log, newest event first: each delivery\'s event, endpoint, status, attempts and last answer',
      parameters: [
        { name: 'status', in: 'query', schema: { type: 'string', enum: ['pending', 'delivered', 'failed'] } },
        { name: 'before', in: 'query', schema: { type: 'integer', minimum: 1 }, description: 'Deliveries of audit entries older than this seq.' },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
      ],
      responses: { 200: json({
        type: 'object',
        required: ['enabled', 'endpoints', 'items'],
        properties: {
          enabled: { type: 'boolean', description: 'Whether this node sends webhooks (webhooks.endpoints is set).' },
          endpoints: { type: 'array', description: 'The endpoints of webhooks.endpoints: URL and events (never the secret); empty when this node sends none.', items: { type: 'object', required: ['url', 'events'], properties: { url: { type: 'string' }, events: { type: 'array', items: { type: 'string' } } } } },
          items: { type: 'array', items: { type: 'object', properties: {
            messageId: { type: 'string' }, endpoint: { type: 'string' }, eventType: { type: 'string' }, auditSeq: { type: 'integer' },
            createdAt: { type: 'string' }, status: { type: 'string' }, attempts: { type: 'integer' }, nextAttemptAt: { type: ['string', 'null'] },
            lastAttemptAt: { type: ['string', 'null'] }, lastStatus: { type: ['integer', 'null'] }, lastError: { type: ['string', 'null'] }, deliveredAt: { type: ['string', 'null'] },
            payload: { type: 'string', description: 'The exact body sent.' },
          } } },
        },
      }) },
    }),
  },
  '/api/webhooks/deliveries/{messageId}/redeliver': {
    post: write({
      operationId: 'redeliverWebhook', summary: 'Send a webhook message again: its deliveries (to `endpoint`, or to every endpoint) become pending, due now, with a fresh count of attempts',
      parameters: [
        { name: 'messageId', in: 'path', required: true, schema: { type: 'string', pattern: '^msg_(?:[0-9]+_[a-z_]+|expiring_[a-z]+_[A-Za-z0-9]{1,64}_[0-9]{1,16})$', maxLength: 128 } },
        { name: 'endpoint', in: 'query', schema: { type: 'string', maxLength: 2048 } },
      ],
      responses: { 200: json({ type: 'object', required: ['redelivered'], properties: { redelivered: { type: 'integer', minimum: 1 } } }), ...problemResponses(404) },
    }),
  },
  '/api/admin-tokens': {
    get: write({ operationId: 'listAdminTokens', summary: 'Every admin token, newest first (write tokens only)', responses: { 200: json({ type: 'array', items: ref('AdminToken') }) } }),
    post: write({ operationId: 'createAdminToken', summary: 'Create an admin token; the response is the only time it is shown', requestBody: body('CreateAdminToken'), responses: { 201: json(ref('NewAdminToken'), 'Created') } }),
  },
  '/api/admin-tokens/{id}/revoke': {
    post: write({ operationId: 'revokeAdminToken', summary: 'Revoke an admin token: its sessions and event streams end within a second', parameters: [idParameter], responses: { 200: json(ref('AdminToken')), ...problemResponses(404) } }),
  },
  '/api/tokens/{id}/revoke': {
    post: write({
      operationId: 'revokeDelegatedToken', summary: 'Revoke one delegated DPoP token by its id (`token_id`, `X-Portcullis-Token-Id`): refused with 401 dpop_token_revoked on every node within a poll interval; its parent key and other tokens keep working',
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$', description: 'The token id.' } }],
      requestBody: body('RevokeToken'), responses: { 200: json(ref('RevokedToken')), ...problemResponses(404) },
    }),
  },
  '/api/events': {
    get: read({ operationId: 'streamEvents', summary: 'Server-sent events: one `key` event per key change, from the change feed', responses: { 200: { description: 'An event stream', content: { 'text/event-stream': {} } } } }),
  },
  '/api/session': {
    post: open({ operationId: 'login', summary: 'Dashboard login: sets an HttpOnly session cookie', requestBody: body('Login'), responses: { 200: json(ref('Session')), ...problemResponses(400, 401, 403) } }),
    get: read({ operationId: 'getSession', summary: 'The caller\'s identity (and the CSRF token of a cookie session)', responses: { 200: json(ref('Session')) } }),
    delete: read({ operationId: 'logout', summary: 'End the dashboard session', responses: { 204: { description: 'Logged out' } } }),
  },
  '/api/health': {
    get: open({ operationId: 'health', summary: 'This node\'s health, with change-feed position and lag; 503 when not ready', responses: { 200: json(ref('Health')), 503: json(ref('Health')) } }),
  },
  '/healthz': {
    get: open({ operationId: 'healthz', summary: 'Liveness, as on health.listen: 200 while the process answers', responses: { 200: json(ref('Health')) } }),
  },
  '/readyz': {
    get: open({ operationId: 'readyz', summary: 'Readiness, as on health.listen: 503 when the node should get no traffic', responses: { 200: json(ref('Health')), 503: json(ref('Health')) } }),
  },
  '/metrics': {
    get: read({ operationId: 'metrics', summary: 'Prometheus metrics', responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': {} } } } }),
  },
  '/openapi.json': {
    get: open({ operationId: 'openapi', summary: 'This document', responses: { 200: json({ type: 'object' }) } }),
  },
};

export const adminOpenApi = {
  openapi: '3.1.0',
  info: {
    title: 'Portcullis admin API',
    version: '1',
    description: 'Served only on the admin listener. Authenticate with `Authorization: Bearer <admin token>` (`portcullis admin token create`) or a dashboard session cookie. `x-role` on each operation is the least role it needs.',
  },
  components: {
    schemas,
    securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: '__Host-portcullis_session' } },
  },
  security: [{ adminToken: [] }, { session: [] }],
  paths: adminPaths,
};

/** Resolves `$ref`s into the component schemas, for Fastify (which has no OpenAPI document to look them up in). */
function inline(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(inline);
  if (schema === null || typeof schema !== 'object') return schema;
  const record = schema as Schema;
  if (typeof record.$ref === 'string') return inline(schemas[record.$ref.slice('#/components/schemas/'.length)]);
  return Object.fromEntries(Object.entries(record).filter(([key]) => key !== 'description').map(([key, value]) => [key, inline(value)]));
}

export interface AdminRoute {
  method: string;
  url: string;
  role: Operation['x-role'];
  schema: { params?: Schema; querystring?: Schema; body?: Schema };
}

/** Every operation with its Fastify path (`:id`), least role and request schemas. */
export function adminRoutes(): Map<string, AdminRoute> {
  const routes = new Map<string, AdminRoute>();
  for (const [path, operations] of Object.entries(adminPaths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const schema: AdminRoute['schema'] = {};
      for (const location of ['path', 'query'] as const) {
        const parameters = (operation.parameters ?? []).filter((parameter) => parameter.in === location);
        if (parameters.length === 0) continue;
        schema[location === 'path' ? 'params' : 'querystring'] = {
          type: 'object',
          additionalProperties: false,
          required: parameters.filter((parameter) => parameter.required === true).map((parameter) => parameter.name),
          properties: Object.fromEntries(parameters.map((parameter) => [parameter.name, inline(parameter.schema)])),
        };
      }
      const requestSchema = (operation.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content?.['application/json']?.schema;
      if (requestSchema !== undefined) schema.body = inline(requestSchema) as Schema;
      routes.set(operation.operationId, { method: method.toUpperCase(), url: path.replace(/\{(\w+)\}/g, ':$1'), role: operation['x-role'], schema });
    }
  }
  return routes;
}
