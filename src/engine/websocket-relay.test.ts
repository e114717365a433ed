import assert from 'node:assert/strict';
import { duplexPair, type Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { WebSocketRelay } from './websocket-relay.ts';

/** Two in-memory connections (client ↔ gateway, gateway ↔ upstream) with a relay between their gateway ends. */
function relayed(maxMessageSize = 1000): { client: Duplex; upstream: Duplex; relay: WebSocketRelay; fromGateway: { client: Buffer[]; upstream: Buffer[] }; closed: Promise<void> } {
  const [client, gatewayClientSide] = duplexPair();
  const [upstream, gatewayUpstreamSide] = duplexPair();
  const fromGateway = { client: [] as Buffer[], upstream: [] as Buffer[] };
  client.on('data', (chunk: Buffer) => fromGateway.client.push(chunk));
  upstream.on('data', (chunk: Buffer) => fromGateway.upstream.push(chunk));
  client.on('error', () => {});
  upstream.on('error', () => {});
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  const relay = new WebSocketRelay(gatewayClientSide, gatewayUpstreamSide, { maxMessageSize, onClosed });
  return { client, upstream, relay, fromGateway, closed };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A masked client text frame (mask 0, so the payload reads as sent). */
function clientFrame(text: string): Buffer {
  return Buffer.concat([Buffer.from([0x81, 0x80 | text.length, 0, 0, 0, 0]), Buffer.from(text)]);
}

function serverFrame(text: string): Buffer {
  return Buffer.concat([Buffer.from([0x81, text.length]), Buffer.from(text)]);
}

describe('WebSocketRelay', () => {
  it('relays frames both ways unchanged', async () => {
    const { client, upstream, fromGateway } = relayed();
    client.write(clientFrame('ping'));
    upstream.write(serverFrame('pong'));
    await tick();
    assert.deepEqual(Buffer.concat(fromGateway.upstream), clientFrame('ping'));
    assert.deepEqual(Buffer.concat(fromGateway.client), serverFrame('pong'));
  });

  it('closes both sides with a close frame when each is between frames, and reports both sockets gone', async () => {
    const { client, upstream, relay, fromGateway, closed } = relayed();
    relay.close(1008, 'key revoked');
    await tick();
    const toClient = Buffer.concat(fromGateway.client);
    assert.deepEqual([toClient[0], toClient[1], toClient.readUInt16BE(2), toClient.subarray(4).toString()], [0x88, 13, 1008, 'key revoked']);
    const toUpstream = Buffer.concat(fromGateway.upstream);
    assert.equal(toUpstream[1], 0x80 | 13, 'masked, as a client frame must be');
    client.end();
    upstream.end();
    await closed;
  });

  it('ends a side in the middle of a frame without a close frame (none can be put inside another)', async () => {
    const { upstream, relay, fromGateway } = relayed();
    upstream.write(serverFrame('half a frame').subarray(0, 6));
    await tick();
    const before = Buffer.concat(fromGateway.client).length;
    relay.close(1008, 'key revoked');
    await tick();
    assert.equal(Buffer.concat(fromGateway.client).length, before, 'no close frame after a partial frame');
    assert.equal(Buffer.concat(fromGateway.upstream)[0], 0x88, 'the other side, between frames, still gets one');
  });

  it('closes with 1009 on a message over the limit, relaying none of it', async () => {
    const { client, fromGateway } = relayed(3);
    client.write(clientFrame('four'));
    await tick();
    const toUpstream = Buffer.concat(fromGateway.upstream);
    assert.equal(toUpstream[0], 0x88, 'the first thing the upstream gets is the close frame');
    const toClient = Buffer.concat(fromGateway.client);
    assert.equal(toClient.readUInt16BE(2), 1009);
  });
});
