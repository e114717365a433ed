/**
 * `key.expiring` through a running gateway: the webhook thread finds a key that expires within
 * `webhooks.expiringWithin` and posts one signed event for it (verified with the
 * `standardwebhooks` reference library); a key expiring later gets none; a restarted gateway
 * (a new thread, which reads the keys again at once) sends a new key's event but not the first
 * one's a second time.
 */
import { Webhook } from 'standardwebhooks';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { writeWebhookConfig } from '../support/webhook-config-file.ts';

const SECRET = `whsec_${Buffer.from('another test secret, 32 bytes!!').toString('base64')}`;
const DAY = 86_400_000;

async function startReceiver() {
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { received, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks` };
}

describe('webhooks: key.expiring', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'expiring.db');
  let upstream: RecordingUpstream;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let gateway: TestGateway | undefined;
  const env = { PORTCULLIS_CONFIG: join(directory.path, 'portcullis.yaml') };

  before(async () => {
    upstream = await startRecordingUpstream();
    receiver = await startReceiver();
    writeWebhookConfig(directory.path, { url: receiver.url, secret: SECRET, events: ['key.expiring'], settings: ['pollInterval: 50ms', 'expiringWithin: 2d'] });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    await new Promise((resolve) => receiver?.server.close(resolve));
    directory.remove();
  });

  it('sends one signed key.expiring for a key expiring within expiringWithin, once across a restart', async () => {
    const expiresAt = Date.now() + DAY;
    const soon = await createKeyInStore(storePath, { name: 'billing-batch', expiresAt });
    await createKeyInStore(storePath, { name: 'later', expiresAt: Date.now() + 3 * DAY });
    gateway = await startTestGateway(upstream.url, storePath, { env });
    await waitFor(async () => receiver.received.length >= 1, 5000, 'key.expiring sent');
    const [sent] = receiver.received;
    assert.equal(sent!.headers['webhook-id'], `msg_expiring_${soon.id}_${expiresAt}`);
    const verified = new Webhook(SECRET).verify(sent!.body, sent!.headers as Record<string, string>) as { type: string; data: Record<string, unknown> };
    assert.deepEqual([verified.type, verified.data.key_id, verified.data.name, verified.data.expires_at], ['key.expiring', soon.id, 'billing-batch', new Date(expiresAt).toISOString()]);

    await gateway.stop();
    // A key created while the gateway is down: the restarted thread's first read of the keys finds it.
    const next = await createKeyInStore(storePath, { name: 'next', expiresAt: Date.now() + DAY });
    gateway = await startTestGateway(upstream.url, storePath, { env });
    await waitFor(async () => receiver.received.length >= 2, 5000, 'the restarted thread read the keys');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(receiver.received.map((each) => JSON.parse(each.body).data.key_id), [soon.id, next.id], 'once each; none for the key expiring after expiringWithin');
  });
});
