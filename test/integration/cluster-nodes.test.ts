/**
 * Two gateway nodes on one store (a SQLite file, and a PostgreSQL schema): each writes its
 * heartbeat through its store write thread, the overview of either lists both with their
 * health, and a node that stops shows as missing on the other's overview within a few of its
 * heartbeat intervals.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { MISSING_AFTER_BEATS } from '../../src/health/node-heartbeat.ts';
import { StoreWriteThread } from '../../src/store/write-thread/store-write-thread.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { checkTestPostgres, createTestSchema, type TestSchema } from '../support/postgres.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { describeNeeding } from '../support/required-service.ts';

const INTERVAL_MS = 200;
const env = { PORTCULLIS_HEALTH_HEARTBEAT_INTERVAL: `${INTERVAL_MS}ms` };

interface ListedNode {
  id: string;
  hostName: string;
  pid: number;
  version: string;
  self: boolean;
  state: 'live' | 'missing';
  lastSeen: string;
  health: { status?: string; parts?: Record<string, string>; changeFeed?: { position?: number }; limits?: { backend?: string } };
}

async function nodesOf(gateway: TestGateway, token: string): Promise<ListedNode[]> {
  const response = await adminCall<{ nodes: ListedNode[] }>(gateway.gateway.admin!.url, 'GET', '/api/overview?window=1h', { token });
  assert.equal(response.status, 200, response.text);
  return response.body.nodes;
}

/** Asks until `accept` holds (or fails after 10 s with the last answer). */
async function nodesUntil(gateway: TestGateway, token: string, accept: (nodes: ListedNode[]) => boolean): Promise<ListedNode[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const nodes = await nodesOf(gateway, token);
    if (accept(nodes)) return nodes;
    if (Date.now() > deadline) assert.fail(`not reached in 10 s; last answer: ${JSON.stringify(nodes, null, 1)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function twoNodesOnOneStore(location: () => string): void {
  let upstream: RecordingUpstream;
  let first: TestGateway;
  let second: TestGateway;
  let token: string;

  before(async () => {
    upstream = await startRecordingUpstream();
    first = await startTestGateway(upstream.url, location(), { env });
    second = await startTestGateway(upstream.url, location(), { env });
    token = (await createAdminToken(first.gateway.store, 'read')).token;
  });
  after(async () => {
    await second?.stop().catch(() => {});
    await first?.stop();
    await upstream?.close();
  });

  it('lists both nodes on either node\'s overview, itself first, each with its health parts', async () => {
    // A node's first beat is written while it starts (status not_ready); the next, once it serves.
    const bothServing = (nodes: ListedNode[]) => nodes.length === 2 && nodes.every((node) => node.state === 'live' && node.health.status !== 'not_ready');
    const fromFirst = await nodesUntil(first, token, bothServing);
    const fromSecond = await nodesUntil(second, token, bothServing);
    assert.equal(fromFirst[0]!.self, true);
    assert.equal(fromFirst[1]!.self, false);
    assert.equal(fromSecond[0]!.self, true);
    // Each lists the other as the other: the same two ids, the other way round.
    assert.deepEqual([fromSecond[1]!.id, fromSecond[0]!.id], [fromFirst[0]!.id, fromFirst[1]!.id]);
    assert.notEqual(fromFirst[0]!.id, fromFirst[1]!.id);
    for (const node of fromFirst) {
      assert.match(node.id, /^node_[0-9a-f]{16}$/);
      assert.equal(node.hostName, hostname());
      assert.equal(node.pid, process.pid);
      assert.match(node.version, /^\d+\.\d+\.\d+/);
      assert.equal(node.health.status, 'ok');
      assert.deepEqual(node.health.parts && { store: node.health.parts.store, changeFeed: node.health.parts.changeFeed, redis: node.health.parts.redis }, { store: 'ok', changeFeed: 'ok', redis: 'not-used' });
      assert.equal(node.health.limits?.backend, 'memory');
      assert.equal(typeof node.health.changeFeed?.position, 'number');
    }
  });

  it('shows a node that stopped as missing after a few of its intervals, and keeps listing it', async () => {
    const secondId = (await nodesOf(second, token))[0]!.id;
    await second.stop();
    // Every answer of the first node about the second, with when it came (this host's clock).
    const answers: Array<{ answeredAt: number; state: string | undefined }> = [];
    const nodes = await nodesUntil(first, token, (listed) => {
      const state = listed.find((node) => node.id === secondId)?.state;
      answers.push({ answeredAt: Date.now(), state });
      return state === 'missing';
    });
    assert.equal(nodes.length, 2);
    assert.deepEqual(nodes.map((node) => [node.self, node.state]), [[true, 'live'], [false, 'missing']]);
    const store = await openKeyStore(location());
    try {
      const rows = await store.listNodeHeartbeats();
      // Missing once MISSING_AFTER_BEATS of its intervals have passed since its last beat, not
      // sooner: measured from that beat, since on a loaded machine stop() itself can outlast an interval.
      const stoppedRow = rows.find((row) => row.nodeId === secondId);
      assert.ok(stoppedRow !== undefined, 'the stopped node is still listed');
      const missingFrom = stoppedRow.lastSeen + MISSING_AFTER_BEATS * INTERVAL_MS;
      for (const answer of answers) {
        if (answer.answeredAt < missingFrom) assert.equal(answer.state, 'live', `called ${answer.state} ${answer.answeredAt - stoppedRow.lastSeen} ms after its last beat`);
      }
      assert.ok(answers.at(-1)!.answeredAt > missingFrom, `missing ${answers.at(-1)!.answeredAt - stoppedRow.lastSeen} ms after its last beat: sooner than ${MISSING_AFTER_BEATS} intervals`);
      // The one still running keeps beating: its row is fresh.
      const own = rows.find((row) => row.nodeId === nodes[0]!.id);
      assert.ok(own !== undefined && Date.now() - own.lastSeen < 3 * INTERVAL_MS + 1000, JSON.stringify(rows));
    } finally {
      await store.close();
    }
  });
}

describe('two gateway nodes on one SQLite store', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  twoNodesOnOneStore(() => join(directory.path, 'shared.db'));

  it('writes a heartbeat through the store write thread, which a second connection reads', async () => {
    const path = join(directory.path, 'thread.db');
    await (await openKeyStore(path)).close();
    const thread = new StoreWriteThread(path, { onCrash: (error) => assert.fail(error) });
    try {
      const heartbeat = { nodeId: 'node_thread', hostName: 'h', pid: 1, version: '0.0.0', startedAt: 1000, lastSeen: 2000, interval: 5000, health: { status: 'ok' } };
      await thread.writeNodeHeartbeat(heartbeat);
      assert.equal(await thread.pruneNodeHeartbeats(1000), 0);
      const store = await openKeyStore(path);
      try {
        assert.deepEqual(await store.listNodeHeartbeats(), [heartbeat]);
      } finally {
        await store.close();
      }
    } finally {
      await thread.close();
    }
  });
});

const postgres = await checkTestPostgres();
describeNeeding(postgres, 'two gateway nodes on one PostgreSQL store', () => {
  let schema: TestSchema;
  before(async () => {
    schema = await createTestSchema();
  });
  after(async () => {
    await schema?.drop();
  });
  twoNodesOnOneStore(() => schema.url);
});
