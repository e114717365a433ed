/**
 * The dispatcher against a real SQLite store and a fake receiver: audit entries become signed
 * deliveries, a failing receiver is retried with back-off until it answers 2xx, a delivery is
 * given up after maxAttempts, and nothing queued is lost when a dispatcher stops and another
 * starts. Signatures are checked with a verifier written here from the Standard Webhooks
 * specification, not with the signing code.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { fakeKey, recordingLogger } from '../../test/support/fake-context.ts';
import { temporaryDirectory } from '../../test/support/processes.ts';
import { CLI_ACTOR } from '../store/audit-log.ts';
import { openKeyStore } from '../store/open-key-store.ts';
import type { Store } from '../store/store.ts';
import { openWebhookDeliveries } from '../store/webhooks/open-webhook-deliveries.ts';
import { SqliteWebhookDeliveries } from '../store/webhooks/sqlite-webhook-deliveries.ts';
import { checkTestPostgres, createTestSchema } from '../../test/support/postgres.ts';
import { describeNeeding } from '../../test/support/required-service.ts';
import { signedWebhookHeaders, webhookSecretKey, WebhookSecretError } from './standard-webhooks.ts';
import { WebhookDispatcher, type WebhookSender } from './webhook-dispatcher.ts';
import type { WebhookEvent } from './webhook-events.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const URL_A = 'https://hooks.example/a';
const URL_B = 'https://hooks.example/b';
const DAY = 86_400_000;

/**
 * Standard Webhooks verification, from the specification (section "Verifying webhook
 * authenticity"): strip `whsec_`, base64-decode the rest as the key; the signed content is
 * `${id}.${timestamp}.${body}`; HMAC-SHA256, base64; the header holds space-separated
 * `v1,<signature>` entries, any of which may match (compared in constant time); the timestamp
 * must be within the tolerance (5 minutes) of now.
 */
function verifyStandardWebhook(secret: string, headers: Record<string, string>, body: string, nowSeconds: number): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (id === undefined || timestamp === undefined || signatures === undefined) return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    if (version !== 'v1' || signature === undefined) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

interface Received {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A receiver whose answers are scripted per URL (a status, or 'down' for no answer); 204 after the script ends. */
function scriptedReceiver(script: Record<string, Array<number | 'down'>> = {}) {
  const received: Received[] = [];
  const send: WebhookSender = async (url, headers, body) => {
    received.push({ url, headers, body });
    const next = script[url]?.shift() ?? 204;
    if (next === 'down') throw new Error('connect ECONNREFUSED');
    return next;
  };
  return { received, send };
}

describe('WebhookDispatcher', () => {
  let directory: ReturnType<typeof temporaryDirectory>;
  let store: Store;
  let deliveries: SqliteWebhookDeliveries;
  let clock: number;
  beforeEach(async () => {
    directory = temporaryDirectory();
    store = await openKeyStore(join(directory.path, 'k.db'));
    await store.migrate();
    deliveries = new SqliteWebhookDeliveries(join(directory.path, 'k.db'));
    clock = Date.parse('2026-12-02T10:00:00Z');
  });
  afterEach(async () => {
    await deliveries.close();
    await store.close();
    directory.remove();
  });

  function dispatcher(send: WebhookSender, events: { a?: WebhookEvent[]; b?: WebhookEvent[] } = { a: ['key.leaked', 'key.quarantined', 'key.revoked', 'key.released', 'key.anomaly'] }, maxAttempts = 5) {
    const key = webhookSecretKey(SECRET);
    const endpoints = [
      ...(events.a ? [{ url: URL_A, events: new Set(events.a), key }] : []),
      ...(events.b ? [{ url: URL_B, events: new Set(events.b), key }] : []),
    ];
    return new WebhookDispatcher({ store: deliveries, endpoints, pollInterval: 10, timeout: 1000, maxAttempts, retryDelay: 1000, maxRetryDelay: 4000, expiringWithin: 7 * DAY, logger: recordingLogger().logger, onStoreError: (error) => assert.fail(error as Error), send, now: () => clock });
  }

  async function createKey(id: string, expiresAt: number | null = null) {
    const { record } = fakeKey({ id, expiresAt });
    await store.createKey({ ...record, digest: id.padEnd(64, '0'), displayPrefix: 'pcl_x' } as never, clock, CLI_ACTOR);
  }

  it('starts at the audit log\'s head, then sends each event of a later change, signed per Standard Webhooks', async () => {
    await createKey('key_old');
    await store.revokeKey('key_old', 'before webhooks', clock, CLI_ACTOR);
    const receiver = scriptedReceiver();
    const running = dispatcher(receiver.send);
    await running.runOnce();
    assert.equal(receiver.received.length, 0, 'history is not replayed');
    await createKey('key_a');
    await store.quarantineKey('key_a', 'presented as leaked', clock, { actor: 'key-presentation', address: '198.51.100.7' }, { url: 'https://paste.example/x', source: 'presentation' });
    await running.runOnce();
    assert.deepEqual(receiver.received.map((each) => each.headers['webhook-id']), ['msg_4_key_leaked', 'msg_4_key_quarantined']);
    for (const { url, headers, body } of receiver.received) {
      assert.equal(url, URL_A);
      assert.equal(headers['webhook-timestamp'], String(Math.floor(clock / 1000)));
      assert.ok(verifyStandardWebhook(SECRET, headers, body, Math.floor(clock / 1000)), 'the reference algorithm accepts the signature');
      assert.ok(!verifyStandardWebhook('whsec_' + Buffer.alloc(24, 1).toString('base64'), headers, body, Math.floor(clock / 1000)), 'another secret does not');
      assert.ok(!verifyStandardWebhook(SECRET, headers, body.replace('key_a', 'key_b'), Math.floor(clock / 1000)), 'another body does not');
    }
    const leaked = JSON.parse(receiver.received[0]!.body);
    assert.deepEqual(leaked, {
      type: 'key.leaked',
      timestamp: new Date(clock).toISOString(),
      data: { key_id: 'key_a', action: 'key.quarantined', reason: 'presented as leaked', actor: 'key-presentation', address: '198.51.100.7', audit_seq: 4, details: { evidence: { url: 'https://paste.example/x', source: 'presentation' } } },
    });
    await running.runOnce();
    assert.equal(receiver.received.length, 2, 'delivered once');
    assert.deepEqual((await deliveries.listDeliveries()).map((each) => [each.messageId, each.status, each.attempts, each.lastStatus]), [['msg_4_key_leaked', 'delivered', 1, 204], ['msg_4_key_quarantined', 'delivered', 1, 204]]);
  });

  it('sends an endpoint only the events it subscribes to; creations and edits are no event', async () => {
    const receiver = scriptedReceiver();
    const running = dispatcher(receiver.send, { a: ['key.revoked'], b: ['key.released'] });
    await running.runOnce();
    await createKey('key_a');
    await store.updateKey('key_a', { name: 'renamed' }, clock, CLI_ACTOR);
    await store.quarantineKey('key_a', 'suspicious', clock, CLI_ACTOR);
    await store.releaseKey('key_a', 'fine', clock, CLI_ACTOR);
    await store.revokeKey('key_a', 'done', clock, CLI_ACTOR);
    await running.runOnce();
    assert.deepEqual(receiver.received.map((each) => [each.url, JSON.parse(each.body).type]), [[URL_B, 'key.released'], [URL_A, 'key.revoked']]);
  });

  it('retries a receiver that fails twice with back-off, then delivers the event exactly once more, with the same id', async () => {
    const receiver = scriptedReceiver({ [URL_A]: [500, 'down'] });
    const running = dispatcher(receiver.send, { a: ['key.revoked'] });
    await running.runOnce();
    await createKey('key_a');
    await store.revokeKey('key_a', 'leaked', clock, CLI_ACTOR);
    await running.runOnce();
    assert.equal(receiver.received.length, 1);
    clock += 999;
    await running.runOnce();
    assert.equal(receiver.received.length, 1, 'not before retryDelay');
    clock += 1;
    await running.runOnce();
    assert.equal(receiver.received.length, 2);
    clock += 1999;
    await running.runOnce();
    assert.equal(receiver.received.length, 2, 'the delay doubled');
    clock += 1;
    await running.runOnce();
    clock += 100_000;
    await running.runOnce();
    assert.equal(receiver.received.length, 3, 'delivered on the third attempt, and never again');
    assert.equal(new Set(receiver.received.map((each) => each.headers['webhook-id'])).size, 1);
    assert.equal(new Set(receiver.received.map((each) => each.body)).size, 1);
    const [logged] = await deliveries.listDeliveries();
    assert.deepEqual([logged?.status, logged?.attempts, logged?.lastStatus, logged?.lastError], ['delivered', 3, 204, null]);
  });

  it('gives a delivery up after maxAttempts, with the last error in the log', async () => {
    const receiver = scriptedReceiver({ [URL_A]: [503, 503, 503] });
    const running = dispatcher(receiver.send, { a: ['key.revoked'] }, 3);
    await running.runOnce();
    await createKey('key_a');
    await store.revokeKey('key_a', 'leaked', clock, CLI_ACTOR);
    for (let round = 0; round < 6; round++) {
      await running.runOnce();
      clock += 10_000;
    }
    assert.equal(receiver.received.length, 3);
    const [logged] = await deliveries.listDeliveries();
    assert.deepEqual([logged?.status, logged?.attempts, logged?.lastStatus, logged?.lastError], ['failed', 3, 503, 'answered 503']);
  });

  it('loses nothing across a restart: what one dispatcher queued, the next one sends', async () => {
    const down = scriptedReceiver({ [URL_A]: ['down'] });
    const first = dispatcher(down.send, { a: ['key.revoked'] });
    await first.runOnce();
    await createKey('key_a');
    await store.revokeKey('key_a', 'leaked', clock, CLI_ACTOR);
    await first.runOnce();
    await first.stop();
    await createKey('key_b');
    await store.revokeKey('key_b', 'leaked while stopped', clock, CLI_ACTOR);
    clock += 60_000;
    const up = scriptedReceiver();
    await dispatcher(up.send, { a: ['key.revoked'] }).runOnce();
    assert.deepEqual(up.received.map((each) => JSON.parse(each.body).data.key_id).sort(), ['key_a', 'key_b']);
  });

  it('sends key.expiring once per key and expiry, expiringWithin before it, signed; a new expiry is a new event', async () => {
    await createKey('key_soon', clock + 3 * DAY);
    await createKey('key_later', clock + 10 * DAY);
    await createKey('key_never');
    await createKey('key_revoked', clock + DAY);
    await store.revokeKey('key_revoked', 'done', clock, CLI_ACTOR);
    await createKey('key_expired', clock - 1);
    const receiver = scriptedReceiver();
    const running = dispatcher(receiver.send, { a: ['key.expiring'], b: ['key.revoked'] });
    await running.runOnce();
    assert.deepEqual(receiver.received.map((each) => [each.url, each.headers['webhook-id']]), [[URL_A, `msg_expiring_key_soon_${clock + 3 * DAY}`]]);
    const [sent] = receiver.received;
    assert.ok(verifyStandardWebhook(SECRET, sent!.headers, sent!.body, Math.floor(clock / 1000)));
    assert.deepEqual(JSON.parse(sent!.body), { type: 'key.expiring', timestamp: new Date(clock).toISOString(), data: { key_id: 'key_soon', name: 'test key', expires_at: new Date(clock + 3 * DAY).toISOString(), action: 'key.expiring' } });
    clock += 60_000;
    await running.runOnce();
    assert.equal(receiver.received.length, 1, 'once per key and expiry');
    await store.updateKey('key_soon', { expiresAt: clock + 5 * DAY }, clock, CLI_ACTOR);
    clock += 59_000;
    await running.runOnce();
    assert.equal(receiver.received.length, 1, 'keys are read at most once a minute');
    clock += 1000;
    await running.runOnce();
    assert.deepEqual(receiver.received.slice(1).map((each) => each.headers['webhook-id']), [`msg_expiring_key_soon_${clock - 60_000 + 5 * DAY}`], 'a new expiry, a new event');
    clock += 3 * DAY;
    await running.runOnce();
    assert.deepEqual(receiver.received.slice(2).map((each) => JSON.parse(each.body).data.key_id), ['key_later'], 'within expiringWithin of its expiry now');
    assert.deepEqual((await deliveries.listDeliveries()).map((each) => [each.eventType, each.status]), [['key.expiring', 'delivered'], ['key.expiring', 'delivered'], ['key.expiring', 'delivered']]);
  });

  it('sends no key.expiring when no endpoint subscribes to it', async () => {
    await createKey('key_soon', clock + DAY);
    const receiver = scriptedReceiver();
    await dispatcher(receiver.send, { a: ['key.revoked'] }).runOnce();
    assert.equal(receiver.received.length, 0);
    assert.deepEqual(await deliveries.listDeliveries(), []);
  });

  it('sends key.expiring once when two nodes on one store find the same key', async () => {
    await createKey('key_soon', clock + DAY);
    const other = new SqliteWebhookDeliveries(join(directory.path, 'k.db'));
    try {
      const receiver = scriptedReceiver();
      const first = dispatcher(receiver.send, { a: ['key.expiring'] });
      const key = webhookSecretKey(SECRET);
      const second = new WebhookDispatcher({ store: other, endpoints: [{ url: URL_A, events: new Set<WebhookEvent>(['key.expiring']), key }], pollInterval: 10, timeout: 1000, maxAttempts: 5, retryDelay: 1000, maxRetryDelay: 4000, expiringWithin: 7 * DAY, logger: recordingLogger().logger, onStoreError: (error) => assert.fail(error as Error), send: receiver.send, now: () => clock });
      await Promise.all([first.runOnce(), second.runOnce()]);
      await Promise.all([first.runOnce(), second.runOnce()]);
      assert.deepEqual(receiver.received.map((each) => each.headers['webhook-id']), [`msg_expiring_key_soon_${clock + DAY}`]);
    } finally {
      await other.close();
    }
  });
});

describe('signedWebhookHeaders', () => {
  it('gives the signature of the Standard Webhooks specification\'s example', () => {
    // The example of the specification and its reference libraries: this secret, id, time and body.
    const headers = signedWebhookHeaders(webhookSecretKey(SECRET), 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    assert.deepEqual(headers, { 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' });
    assert.ok(verifyStandardWebhook(SECRET, headers, '{"test": 2432232314}', 1614265330 + 10));
    assert.ok(!verifyStandardWebhook(SECRET, headers, '{"test": 2432232314}', 1614265330 + 301), 'outside the tolerance');
  });
});

describe('signedWebhookHeaders against the standardwebhooks reference library', () => {
  it('is accepted by its Webhook.verify, and a changed body or another secret is not', () => {
    const body = JSON.stringify({ type: 'key.revoked', timestamp: new Date().toISOString(), data: { key_id: 'key_a' } });
    const headers = signedWebhookHeaders(webhookSecretKey(SECRET), 'msg_reference_check', Math.floor(Date.now() / 1000), body);
    assert.deepEqual(new Webhook(SECRET).verify(body, headers), JSON.parse(body));
    assert.throws(() => new Webhook(SECRET).verify(body.replace('key_a', 'key_b'), headers), WebhookVerificationError);
    assert.throws(() => new Webhook('whsec_' + Buffer.alloc(24, 1).toString('base64')).verify(body, headers), WebhookVerificationError);
  });
});

describe('webhookSecretKey', () => {
  it('reads whsec_ secrets of 24 to 64 bytes and names what is wrong otherwise', () => {
    assert.equal(webhookSecretKey(`${SECRET}\n`).length, 24);
    for (const [secret, message] of [['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', /whsec_/], ['whsec_c2hvcnQ=', /24 to 64 bytes, found 5/], ['whsec_not base64!', /whsec_ followed by base64/]] as const) {
      assert.throws(() => webhookSecretKey(secret), (error: unknown) => error instanceof WebhookSecretError && message.test(error.message) && !error.message.includes(secret));
    }
  });
});

describeNeeding(await checkTestPostgres(), 'WebhookDispatcher on PostgreSQL, three nodes', () => {
  it('sends each event once when three nodes run a round at the same time', async () => {
    const schema = await createTestSchema();
    const store = await openKeyStore(schema.url);
    const nodes = await Promise.all([0, 1, 2].map(() => openWebhookDeliveries(schema.url)));
    try {
      await store.migrate();
      const receiver = scriptedReceiver();
      const key = webhookSecretKey(SECRET);
      const dispatchers = nodes.map((deliveries) => new WebhookDispatcher({ store: deliveries!, endpoints: [{ url: URL_A, events: new Set<WebhookEvent>(['key.revoked']), key }], pollInterval: 10, timeout: 1000, maxAttempts: 3, retryDelay: 1000, maxRetryDelay: 1000, expiringWithin: 7 * DAY, logger: recordingLogger().logger, onStoreError: (error) => assert.fail(error as Error), send: receiver.send }));
      await Promise.all(dispatchers.map((dispatcher) => dispatcher.runOnce()));
      for (let index = 0; index < 30; index++) {
        const { record } = fakeKey({ id: `key_${index}` });
        await store.createKey({ ...record, digest: `${index}`.padStart(64, '0'), displayPrefix: 'pcl_x' } as never, Date.now(), CLI_ACTOR);
        await store.revokeKey(`key_${index}`, 'leaked', Date.now(), CLI_ACTOR);
      }
      await Promise.all(dispatchers.map((dispatcher) => dispatcher.runOnce()));
      await Promise.all(dispatchers.map((dispatcher) => dispatcher.runOnce()));
      const ids = receiver.received.map((each) => each.headers['webhook-id']);
      assert.equal(ids.length, 30, 'every event sent');
      assert.equal(new Set(ids).size, 30, 'none sent twice');
    } finally {
      await Promise.all(nodes.map((deliveries) => deliveries?.close()));
      await store.close();
      await schema.drop();
    }
  });
});
