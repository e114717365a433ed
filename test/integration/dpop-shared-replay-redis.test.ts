/**
 * DPoP proof replay across gateway nodes sharing Redis: a proof accepted by one node is refused
 * as replayed by the other (`dpop_proof_replayed`). Then with a private Redis that is killed:
 * the documented degraded behaviour (docs/security.md, "Replay caches shared through Redis"):
 * each node still refuses its own replays, a replay on the other node is accepted and the node
 * logs the degradation; once Redis is back, replays are refused across nodes again.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { dpopProof, proofKey, thumbprintOf, tokenHash } from '../support/dpop-proofs.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { freePort, SHARED_REDIS_URL, skipUnlessRedis, startOwnRedis, uniqueRedisPrefix, type OwnRedis } from '../support/redis.ts';

const skip = await skipUnlessRedis();

/** What clients call both nodes by (a load balancer in front): proofs name it in `htu`. */
const PUBLIC_URL = 'https://api.example';
const ORIGIN = 'https://app.example';

interface Node {
  url: string;
  gateway: RunningGateway;
  logs: string[];
}

async function startNode(upstream: string, storePath: string, redisUrl: string, prefix: string): Promise<Node> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString().split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const config = loadConfig({
    env: { PORTCULLIS_REDIS_KEY_PREFIX: prefix, PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '20ms', PORTCULLIS_ADMIN_LISTEN: '', PORTCULLIS_DPOP_ENABLED: 'true', PORTCULLIS_DPOP_NONCE: 'false', PORTCULLIS_DPOP_PUBLIC_URL: PUBLIC_URL },
    flags: [
      { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
      { field: 'upstream.url', value: upstream, flag: '--upstream' },
      { field: 'store', value: storePath, flag: '--store' },
      { field: 'redis.url', value: redisUrl, flag: '--redis' },
    ],
  });
  const gateway = await startGateway(config, createLogger('info', sink));
  return { url: `http://127.0.0.1:${gateway.address.port}`, gateway, logs };
}

/** Two nodes on one store and one Redis, a parent key, and a delegated token for a browser key. */
function twoNodes(redisUrl: () => string) {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const browser = proofKey('ES256');
  const state = { nodes: [] as Node[], token: '', upstream: null as RecordingUpstream | null };

  before(async () => {
    state.upstream = await startRecordingUpstream();
    const parent = await createKeyInStore(storePath, { scopes: [] });
    const prefix = uniqueRedisPrefix();
    for (let i = 0; i < 2; i++) state.nodes.push(await startNode(state.upstream.url, storePath, redisUrl(), prefix));
    const issued = await fetch(`${state.nodes[0]!.url}/.well-known/portcullis/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${parent.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jkt: thumbprintOf(browser), scopes: [], origins: [ORIGIN] }),
    });
    assert.equal(issued.status, 200, await issued.clone().text());
    state.token = ((await issued.json()) as { token: string }).token;
  });
  after(async () => {
    for (const node of state.nodes) await node.gateway.stop();
    await state.upstream?.close();
    directory.remove();
  });

  const proof = () => dpopProof(browser, { jti: randomUUID(), htm: 'GET', htu: `${PUBLIC_URL}/orders`, iat: Math.floor(Date.now() / 1000), ath: tokenHash(state.token) });
  async function call(node: Node, dpop: string): Promise<{ status: number; code: string | null }> {
    const response = await fetch(`${node.url}/orders`, { headers: { authorization: `DPoP ${state.token}`, dpop, origin: ORIGIN } });
    const text = await response.text();
    const body = (text === '' ? {} : JSON.parse(text)) as { code?: string };
    return { status: response.status, code: body.code ?? null };
  }
  return { state, proof, call };
}

describe('DPoP proofs replayed across two nodes sharing Redis', { skip }, () => {
  const { state, proof, call } = twoNodes(() => SHARED_REDIS_URL);

  it('refuses on the other node a proof one node accepted, either way round', async () => {
    const [a, b] = state.nodes as [Node, Node];
    const first = proof();
    assert.deepEqual(await call(a, first), { status: 200, code: null });
    assert.deepEqual(await call(b, first), { status: 401, code: 'dpop_proof_replayed' });
    assert.deepEqual(await call(a, first), { status: 401, code: 'dpop_proof_replayed' });
    const second = proof();
    assert.deepEqual(await call(b, second), { status: 200, code: null });
    assert.deepEqual(await call(a, second), { status: 401, code: 'dpop_proof_replayed' });
    assert.equal(state.upstream!.requests.length, 2, 'only the two first uses reached the upstream');
  });
});

describe('DPoP proofs across two nodes when Redis stops', { skip }, () => {
  let redis: OwnRedis;
  let port: number;
  // Registered first, so Redis runs before the nodes start and stops after they stop.
  before(async () => {
    port = await freePort();
    redis = await startOwnRedis(port);
  });
  after(async () => {
    await redis?.kill();
  });
  const { state, proof, call } = twoNodes(() => redis.url);

  it('keeps serving, refuses same-node replays, accepts a cross-node replay and logs the degradation; shares again once Redis is back', async () => {
    const [a, b] = state.nodes as [Node, Node];
    const before = proof();
    assert.equal((await call(a, before)).status, 200);
    await redis.kill();
    const during = proof();
    assert.deepEqual(await call(a, during), { status: 200, code: null }, 'the gateway keeps serving');
    assert.deepEqual(await call(a, during), { status: 401, code: 'dpop_proof_replayed' }, 'a replay on the same node is still refused');
    assert.deepEqual(await call(b, during), { status: 200, code: null }, 'the documented gap: a replay on another node within the window');
    const warned = (node: Node) => node.logs.some((line) => line.includes('DPoP replay cache: Redis did not answer'));
    assert.ok(warned(b), 'the node that accepted without Redis logs it');
    assert.ok(!state.nodes.some((node) => node.logs.some((line) => line.includes(state.token))), 'no log line holds the token');
    redis = await startOwnRedis(port);
    await Promise.all(state.nodes.map((node) => waitShared(node)));
    const after = proof();
    assert.equal((await call(b, after)).status, 200);
    assert.deepEqual(await call(a, after), { status: 401, code: 'dpop_proof_replayed' }, 'shared again');
  });
});

/** Waits until the node's limiter is back on Redis (it reconnects within about a second). */
async function waitShared(node: Node): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (node.logs.some((line) => line.includes('Redis reachable'))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the node did not reconnect to Redis within 10 s');
}
