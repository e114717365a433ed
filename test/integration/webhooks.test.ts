/**
 * Outgoing webhooks on a running gateway: a key presented as leaked is quarantined, and an
 * endpoint subscribed to key.leaked and key.quarantined gets both events, signed per Standard
 * Webhooks (checked with a verifier written here from the specification); a receiver that
 * fails twice, then succeeds, gets each event exactly once more; deliveries queued while the
 * receiver is down survive a restart of the gateway; the admin API shows the delivery log.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { callWithKey, waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { writeWebhookConfig } from '../support/webhook-config-file.ts';

const SECRET = `whsec_${Buffer.from('a test secret of 32 bytes, ok!!!').toString('base64')}`;
const LIMIT_MS = 5000;

/** Standard Webhooks verification as the specification describes it (not the gateway's code). */
function verifyStandardWebhook(secret: string, headers: Record<string, string | string[] | undefined>, body: string): boolean {
  const [id, timestamp, signatures] = [headers['webhook-id'], headers['webhook-timestamp'], headers['webhook-signature']];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((entry) => {
    const given = Buffer.from(entry.startsWith('v1,') ? entry.slice(3) : '', 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

interface Hook {
  id: string;
  type: string;
  keyId: string;
  verified: boolean;
}

/** A receiver that answers 500 while `failures` lasts (counted per message id), then 204; it records every request. */
async function startReceiver() {
  const received: Hook[] = [];
  const failuresLeft = new Map<string, number>();
  const receiver = { received, failTimes: 0, down: false, server: null as Server | null, url: '' };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { type: string; data: { key_id: string } };
      const id = String(req.headers['webhook-id']);
      received.push({ id, type: parsed.type, keyId: parsed.data.key_id, verified: verifyStandardWebhook(SECRET, req.headers, body) });
      const left = failuresLeft.get(id) ?? receiver.failTimes;
      failuresLeft.set(id, left - 1);
      res.statusCode = receiver.down || left > 0 ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.server = server;
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

async function present(gateway: TestGateway, key: string) {
  const response = await request(`${gateway.url}/.well-known/portcullis/revoke-key`, { method: 'POST', body: JSON.stringify({ key, url: 'https://paste.example/1' }), headers: { 'content-type': 'application/json' } });
  await response.body.dump();
  return response.statusCode;
}

describe('webhooks', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'hooks.db');
  let upstream: RecordingUpstream;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let gateway: TestGateway;
  const env = () => ({ PORTCULLIS_CONFIG: join(directory.path, 'portcullis.yaml'), PORTCULLIS_LEAKS_PRESENTATION_ENABLED: 'true', PORTCULLIS_LEAKS_PRESENTATION_RATE: '100/s' });

  before(async () => {
    upstream = await startRecordingUpstream();
    receiver = await startReceiver();
    writeWebhookConfig(directory.path, { url: receiver.url, secret: SECRET, events: ['key.leaked', 'key.quarantined', 'key.revoked'], settings: ['pollInterval: 50ms', 'retryDelay: 100ms', 'maxRetryDelay: 400ms'] });
    gateway = await startTestGateway(upstream.url, storePath, { env: env() });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    await new Promise((resolve) => receiver?.server?.close(resolve));
    directory.remove();
  });

  it('sends key.leaked and key.quarantined for a presented key, signed; a receiver failing twice gets each exactly once more', async () => {
    receiver.failTimes = 2;
    const { id, key } = await createKeyInStore(storePath);
    assert.equal(await present(gateway, key), 202);
    await waitFor(async () => (await callWithKey(`${gateway.url}/q`, key)).code === 'key_quarantined', LIMIT_MS, 'quarantined');
    const forKey = () => receiver.received.filter((hook) => hook.keyId === id);
    await waitFor(async () => forKey().length >= 6, LIMIT_MS, 'three attempts of each event');
    // Time for a wrong fourth attempt to show.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const hooks = forKey();
    assert.equal(hooks.length, 6, JSON.stringify(hooks));
    assert.ok(hooks.every((hook) => hook.verified), 'every request verifies with the secret');
    assert.deepEqual([...new Set(hooks.map((hook) => hook.type))].sort(), ['key.leaked', 'key.quarantined']);
    for (const type of ['key.leaked', 'key.quarantined']) assert.equal(new Set(hooks.filter((hook) => hook.type === type).map((hook) => hook.id)).size, 1, `one webhook-id for every attempt of ${type}`);

    const reader = await createAdminToken(gateway.gateway.store, 'read');
    const log = await adminCall<{ enabled: boolean; items: Array<{ messageId: string; status: string; attempts: number; lastStatus: number; eventType: string }> }>(gateway.gateway.admin!.url, 'GET', '/api/webhooks/deliveries?status=delivered', { token: reader.token });
    assert.equal(log.status, 200, log.text);
    assert.equal(log.body.enabled, true);
    assert.deepEqual((log.body as unknown as { endpoints: unknown }).endpoints, [{ url: receiver.url, events: ['key.leaked', 'key.quarantined', 'key.revoked'] }], 'the configured endpoints, without their secret');
    assert.ok(!log.text.includes(SECRET.slice('whsec_'.length)), 'never the secret');
    const mine = log.body.items.filter((item) => hooks.some((hook) => hook.id === item.messageId));
    assert.deepEqual(mine.map((item) => [item.eventType, item.status, item.attempts, item.lastStatus]).sort(), [['key.leaked', 'delivered', 3, 204], ['key.quarantined', 'delivered', 3, 204]]);
    assert.equal((await adminCall(gateway.gateway.admin!.url, 'GET', '/api/webhooks/deliveries')).status, 401, 'the log needs a token');
  });

  it('redelivers a message from the admin API (write role), with the same id, once more', async () => {
    receiver.failTimes = 0;
    const { id } = await createKeyInStore(storePath);
    await gateway.gateway.store.revokeKey(id, 'compromised', Date.now(), { actor: 'cli', address: null });
    await waitFor(async () => receiver.received.some((hook) => hook.keyId === id), LIMIT_MS, 'delivered');
    const messageId = receiver.received.find((hook) => hook.keyId === id)!.id;
    const admin = gateway.gateway.admin!.url;
    const reader = await createAdminToken(gateway.gateway.store, 'read');
    const writer = await createAdminToken(gateway.gateway.store, 'write');
    assert.equal((await adminCall(admin, 'POST', `/api/webhooks/deliveries/${messageId}/redeliver`, { token: reader.token })).status, 403);
    assert.equal((await adminCall(admin, 'POST', '/api/webhooks/deliveries/msg_999999_key_revoked/redeliver', { token: writer.token })).status, 404);
    assert.equal((await adminCall(admin, 'POST', '/api/webhooks/deliveries/msg_expiring_key_Ab12_1767225600000/redeliver', { token: writer.token })).status, 404, 'a key.expiring message id is a valid id');
    assert.equal((await adminCall(admin, 'POST', '/api/webhooks/deliveries/msg_expiring_key_Ab12/redeliver', { token: writer.token })).status, 400, 'without its expiry it is not');
    const redelivered = await adminCall<{ redelivered: number }>(admin, 'POST', `/api/webhooks/deliveries/${messageId}/redeliver`, { token: writer.token });
    assert.deepEqual([redelivered.status, redelivered.body], [200, { redelivered: 1 }], redelivered.text);
    await waitFor(async () => receiver.received.filter((hook) => hook.id === messageId).length === 2, LIMIT_MS, 'sent again');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(receiver.received.filter((hook) => hook.id === messageId).length, 2, 'once more, not more');
  });

  it('keeps deliveries queued while the receiver is down across a gateway restart', async () => {
    receiver.failTimes = 0;
    receiver.down = true;
    const { id } = await createKeyInStore(storePath);
    await gateway.gateway.store.revokeKey(id, 'rotated out', Date.now(), { actor: 'cli', address: null });
    await waitFor(async () => receiver.received.some((hook) => hook.keyId === id), LIMIT_MS, 'a first, failed attempt');
    await gateway.stop();
    const attemptsBeforeRestart = receiver.received.filter((hook) => hook.keyId === id).length;
    receiver.down = false;
    gateway = await startTestGateway(upstream.url, storePath, { env: env() });
    await waitFor(async () => receiver.received.filter((hook) => hook.keyId === id).length > attemptsBeforeRestart, LIMIT_MS, 'delivered after the restart');
    const hooks = receiver.received.filter((hook) => hook.keyId === id);
    assert.deepEqual([...new Set(hooks.map((hook) => `${hook.type} ${hook.id}`))].length, 1, 'the same message');
    assert.equal(hooks[0]!.type, 'key.revoked');
    const reader = await createAdminToken(gateway.gateway.store, 'read');
    const statuses = async () => (await adminCall<{ items: Array<{ messageId: string; status: string }> }>(gateway.gateway.admin!.url, 'GET', '/api/webhooks/deliveries', { token: reader.token })).body.items.filter((item) => item.messageId === hooks[0]!.id).map((item) => item.status);
    // The dispatcher records the delivery once the receiver's answer is in: the log may lag the receiver by a moment.
    await waitFor(async () => (await statuses()).join() === 'delivered', LIMIT_MS, 'recorded as delivered');
    assert.deepEqual(await statuses(), ['delivered']);
  });
});
