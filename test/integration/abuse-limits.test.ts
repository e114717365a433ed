import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { createKeyWithCli, runCli, temporaryDirectory } from '../support/processes.ts';
import { agentFrom } from '../support/load-client.ts';
import { countingStore } from '../support/counting-store.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { generateKey } from '../../src/keys/key-format.ts';

type Response = Awaited<ReturnType<typeof request>>;

async function codeOf(response: Response): Promise<string | undefined> {
  if (response.headers['content-type'] !== 'application/problem+json') {
    await response.body.dump();
    return undefined;
  }
  return ((await response.body.json()) as { code: string }).code;
}

describe('per-key rate limits and quotas (memory backend)', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;

  before(async () => {
    // The upstream fails every request under /fail: limits must hold whatever it answers.
    upstream = await startRecordingUpstream((req, res) => {
      req.resume();
      res.writeHead(req.url?.startsWith('/fail') ? 503 : 200, { 'content-length': '2' });
      res.end('ok');
    });
    gateway = await startTestGateway(upstream.url, storePath);
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('sends RateLimit-Policy and RateLimit with exact numbers, then 429 rate_limited with Retry-After', async () => {
    const { key } = await createKeyWithCli(storePath, ['--rate', '5/m']);
    const seen: Array<[string | string[] | undefined, string | string[] | undefined]> = [];
    for (let i = 0; i < 5; i++) {
      const response = await request(`${gateway.url}/fail/${i}`, { headers: { 'x-api-key': key } });
      assert.equal(response.statusCode, 503, 'the upstream answered, and the request still counted');
      await response.body.dump();
      seen.push([response.headers['ratelimit-policy'], response.headers.ratelimit]);
    }
    // One request per 12 s, a burst of 5: r counts down, t is when the full burst is back.
    assert.deepEqual(seen, [
      ['"key";q=5;w=60', '"key";r=4;t=12'],
      ['"key";q=5;w=60', '"key";r=3;t=24'],
      ['"key";q=5;w=60', '"key";r=2;t=36'],
      ['"key";q=5;w=60', '"key";r=1;t=48'],
      ['"key";q=5;w=60', '"key";r=0;t=60'],
    ]);
    const before = upstream.requests.length;
    const refused = await request(`${gateway.url}/fail/6`, { headers: { 'x-api-key': key } });
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.headers['retry-after'], '12');
    // Only the key's policy: a key's own 429s are not charged to its address.
    assert.equal(refused.headers['ratelimit-policy'], '"key";q=5;w=60');
    assert.equal(refused.headers.ratelimit, '"key";r=0;t=12');
    assert.equal(await codeOf(refused), 'rate_limited');
    assert.equal(upstream.requests.length, before, 'a refused request never reaches the upstream');
  });

  it('allows a burst once, then throttles to the rate', async () => {
    const { key } = await createKeyInStore(storePath, { rateLimit: '10/s burst 30' });
    const burst = async () => {
      const started = performance.now();
      const statuses = await Promise.all(Array.from({ length: 40 }, async () => {
        const response = await request(`${gateway.url}/burst`, { headers: { 'x-api-key': key } });
        await response.body.dump();
        return response.statusCode;
      }));
      return { admitted: statuses.filter((status) => status === 200).length, refused: statuses.filter((status) => status === 429).length, ms: performance.now() - started };
    };
    const first = await burst();
    // GCRA: the burst of 30, plus one per 100 ms that passed while the 40 were sent.
    assert.ok(first.admitted >= 30 && first.admitted <= 30 + Math.ceil(first.ms / 100) + 1, JSON.stringify(first));
    assert.equal(first.admitted + first.refused, 40);
    const second = await burst();
    assert.ok(second.admitted <= Math.ceil((first.ms + second.ms) / 100) + 1, `the burst is not granted again: ${JSON.stringify(second)}`);
  });

  it('counts a quota, refuses with 429 quota_exceeded, shows what is left in `keys show`, and remembers it across restarts', async () => {
    const { id, key } = await createKeyWithCli(storePath, ['--quota', '3/day']);
    for (let i = 0; i < 3; i++) {
      const response = await request(`${gateway.url}/q`, { headers: { 'x-api-key': key } });
      assert.equal(response.statusCode, 200);
      await response.body.dump();
      assert.equal(response.headers['ratelimit-policy'], '"quota";q=3;w=86400');
      assert.match(String(response.headers.ratelimit), new RegExp(`^"quota";r=${2 - i};t=\\d+$`));
    }
    const refused = await request(`${gateway.url}/q`, { headers: { 'x-api-key': key } });
    assert.equal(refused.statusCode, 429);
    const untilMidnight = Math.ceil((Math.ceil(Date.now() / 86_400_000) * 86_400_000 - Date.now()) / 1000);
    assert.ok(Math.abs(Number(refused.headers['retry-after']) - untilMidnight) <= 2, `Retry-After ${String(refused.headers['retry-after'])}, midnight in ${untilMidnight}`);
    assert.equal(refused.headers.ratelimit, `"quota";r=0;t=${String(refused.headers['retry-after'])}`);
    assert.equal(await codeOf(refused), 'quota_exceeded');

    await gateway.gateway.flushUsage();
    const shown = await runCli(['keys', 'show', id, '--store', storePath, '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    const quota = (JSON.parse(shown.stdout) as { limits: { quota: { policy: string; used: number; remaining: number } } }).limits.quota;
    assert.deepEqual({ policy: quota.policy, used: quota.used, remaining: quota.remaining }, { policy: '3/day', used: 3, remaining: 0 });
    const text = await runCli(['keys', 'show', id, '--store', storePath]);
    assert.match(text.stdout, /quota left\s+0 of 3 this day \(3 used\)/);

    // A restarted gateway reads the count back from the store.
    const restarted = await startTestGateway(upstream.url, storePath);
    try {
      const again = await request(`${restarted.url}/q`, { headers: { 'x-api-key': key } });
      assert.equal(again.statusCode, 429);
      assert.equal(await codeOf(again), 'quota_exceeded');
    } finally {
      await restarted.stop();
    }
  });

  it('refuses --rate and --quota values it cannot read, with exit status 2', async () => {
    const rate = await runCli(['keys', 'create', '--store', storePath, '--name', 'x', '--rate', '100 per second']);
    assert.equal(rate.code, 2);
    assert.match(rate.stderr, /--rate: expected a rate such as 100\/s/);
    const quota = await runCli(['keys', 'create', '--store', storePath, '--name', 'x', '--quota', '10/m']);
    assert.equal(quota.code, 2);
    assert.match(quota.stderr, /--quota: expected a quota such as 10000\/day/);
  });
});

describe('brute-force lockout and address throttling', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let counting: ReturnType<typeof countingStore>;
  const agents = { attacker: agentFrom('127.0.0.2'), bystander: agentFrom('127.0.0.3'), flooder: agentFrom('127.0.0.4'), neighbour: agentFrom('127.0.0.5') };

  before(async () => {
    upstream = await startRecordingUpstream();
    counting = countingStore(await openKeyStore(storePath));
    gateway = await startTestGateway(upstream.url, storePath, {
      store: counting.store,
      env: { PORTCULLIS_LOCKOUT_COOL_OFF: '1s', PORTCULLIS_LIMITS_ADDRESS_RATE: '1/s burst 30' },
    });
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    await Promise.all(Object.values(agents).map((agent) => agent.close()));
    directory.remove();
  });

  it('locks out an address after 20 invalid keys, before any key lookup, leaves other addresses alone, and lets it back after the cool-off', async () => {
    const { key } = await createKeyInStore(storePath);
    for (let i = 0; i < 20; i++) {
      const response = await request(`${gateway.url}/guess`, { headers: { 'x-api-key': generateKey('pcl') }, dispatcher: agents.attacker });
      assert.equal(response.statusCode, 401, `guess ${i + 1}`);
      assert.equal(await codeOf(response), 'key_invalid');
    }
    const lookups = counting.digestLookups();
    for (const candidate of [key, generateKey('pcl')]) {
      const locked = await request(`${gateway.url}/guess`, { headers: { 'x-api-key': candidate }, dispatcher: agents.attacker });
      assert.equal(locked.statusCode, 429);
      assert.equal(locked.headers['retry-after'], '1');
      assert.equal(await codeOf(locked), 'locked_out');
    }
    assert.equal(counting.digestLookups(), lookups, 'a locked-out address causes no key lookup');

    const other = await request(`${gateway.url}/ok`, { headers: { 'x-api-key': key }, dispatcher: agents.bystander });
    assert.equal(other.statusCode, 200);
    await other.body.dump();

    await new Promise((resolve) => setTimeout(resolve, 1100));
    const back = await request(`${gateway.url}/ok`, { headers: { 'x-api-key': key }, dispatcher: agents.attacker });
    assert.equal(back.statusCode, 200);
    await back.body.dump();
  });

  it('counts preflights and every other denial against the address, then refuses it before its key is looked at', async () => {
    const { key } = await createKeyInStore(storePath);
    const remaining: string[] = [];
    // 30 denied requests fit the burst: OPTIONS preflights without a key, refused methods, missing keys.
    for (let i = 0; i < 30; i++) {
      const response = await request(`${gateway.url}/x`, { method: i % 3 === 0 ? 'OPTIONS' : i % 3 === 1 ? 'TRACE' : 'GET', dispatcher: agents.flooder });
      assert.ok(response.statusCode === 401 || response.statusCode === 405, String(response.statusCode));
      assert.equal(response.headers['ratelimit-policy'], '"address";q=1;w=1;portcullis-burst=30');
      remaining.push(String(response.headers.ratelimit).split(';')[1] as string);
      await response.body.dump();
    }
    assert.equal(remaining[0], 'r=29');
    assert.equal(remaining[29], 'r=0');
    // The next denial does not fit: the address is throttled from the request after it.
    const over = await request(`${gateway.url}/x`, { method: 'OPTIONS', dispatcher: agents.flooder });
    assert.equal(over.statusCode, 401);
    assert.equal(over.headers.ratelimit, '"address";r=0;t=1');
    await over.body.dump();
    const lookups = counting.digestLookups();
    const throttled = await request(`${gateway.url}/x`, { headers: { 'x-api-key': key }, dispatcher: agents.flooder });
    assert.equal(throttled.statusCode, 429);
    assert.equal(throttled.headers['retry-after'], '1');
    assert.equal(throttled.headers.ratelimit, '"address";r=0;t=1');
    assert.equal(await codeOf(throttled), 'rate_limited');
    assert.equal(counting.digestLookups(), lookups);

    const neighbour = await request(`${gateway.url}/x`, { headers: { 'x-api-key': key }, dispatcher: agents.neighbour });
    assert.equal(neighbour.statusCode, 200);
    await neighbour.body.dump();
  });
});
