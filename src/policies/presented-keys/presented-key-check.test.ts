import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeKey, fakeParts, recordingLogger } from '../../../test/support/fake-context.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import { digestKey } from '../../keys/key-digest.ts';
import type { KeyRecord } from '../../keys/key-record.ts';
import { MemoryLimiter } from '../../limits/memory-limiter.ts';
import { compileRateText, type CompiledRate } from '../../limits/rate-policy.ts';
import { ANSWERED } from '../request-context.ts';
import { presentedKeys } from './index.ts';
import { PresentedKeyCheck, type PresentationAction, type PresentedKeyStore } from './presented-key-check.ts';

const PATH = '/.well-known/portcullis/revoke-key';
const LIVE = 'pcl_live_key';
const REVOKED = 'pcl_revoked_key';
const QUARANTINED = 'pcl_quarantined_key';
const PUBLISHABLE = 'pcl_publishable_key';
const INTERNAL = 'pcl_internal_key';
const OWN_REVOKE = 'pcl_own_revoke_key';
const OWN_QUARANTINE = 'pcl_own_quarantine_key';

/** A store holding three keys in three states, recording what is done to them. */
function fakeStore(failures = 0) {
  const calls: string[] = [];
  let failing = failures;
  const records = new Map<string, KeyRecord>([
    [digestKey(LIVE), fakeKey({ id: 'key_live' }).record],
    [digestKey(REVOKED), fakeKey({ id: 'key_revoked', revokedAt: 1 }).record],
    [digestKey(QUARANTINED), fakeKey({ id: 'key_quarantined', quarantinedAt: 1 }).record],
    [digestKey(PUBLISHABLE), fakeKey({ id: 'key_publishable', tags: ['web', 'publishable'] }).record],
    [digestKey(INTERNAL), fakeKey({ id: 'key_internal', tags: ['publishable', 'internal'] }).record],
    [digestKey(OWN_REVOKE), fakeKey({ id: 'key_own_revoke', tags: ['publishable'], leakAction: 'revoke' }).record],
    [digestKey(OWN_QUARANTINE), fakeKey({ id: 'key_own_quarantine', tags: ['internal'], leakAction: 'quarantine' }).record],
  ]);
  const store: PresentedKeyStore = {
    getKeyByDigest: async (digest) => {
      calls.push('lookup');
      if (failing-- > 0) throw new Error('store down');
      return records.get(digest) ?? null;
    },
    quarantineKey: async (id, reason, _at, by, evidence) => (calls.push(`quarantine ${id} (${reason}) by ${by.actor}@${by.address} ${JSON.stringify(evidence)}`), null),
    revokeKey: async (id, reason, _at, by, evidence) => (calls.push(`revoke ${id} (${reason}) by ${by.actor}@${by.address} ${JSON.stringify(evidence)}`), null),
  };
  return { store, calls };
}

function makeCheck(store: PresentedKeyStore, options: { action?: PresentationAction; tagActions?: ReadonlyMap<string, PresentationAction>; rate?: string; maxPending?: number } = {}) {
  const logged = recordingLogger();
  const check = new PresentedKeyCheck({
    path: PATH,
    action: options.action ?? 'quarantine',
    rate: compileRateText(options.rate ?? '100/s') as CompiledRate,
    limiter: new MemoryLimiter({ maxKeys: 10, maxAddresses: 10 }),
    store,
    logger: logged.logger,
    onStoreError: () => {},
    retryDelaysMs: [1, 1],
    ...(options.maxPending === undefined ? {} : { maxPending: options.maxPending }),
    ...(options.tagActions === undefined ? {} : { tagActions: options.tagActions }),
  });
  return { check, lines: logged.lines };
}

/** A report as a finder posts it; the answer's body is recorded on `context.sent`. */
function presentation(body: string, address = '198.51.100.7') {
  const context = fakeContext({ method: 'POST', url: PATH, address, body, headers: ['Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(body))] });
  const sent: Buffer[] = [];
  const end = context.res.end.bind(context.res);
  context.res.end = ((chunk?: string) => (chunk !== undefined && sent.push(Buffer.from(chunk)), end())) as typeof context.res.end;
  return { context, sent };
}

const report = (key: string, url: string | null = 'https://paste.example/abc') => JSON.stringify({ key, url });
const settled = (check: PresentedKeyCheck) => new Promise<void>((resolve) => {
  const poll = () => (check.pending === 0 ? resolve() : setTimeout(poll, 1));
  setImmediate(poll);
});

describe('PresentedKeyCheck', () => {
  it('passes every other path on, whatever its method, and answers other methods on its path with 405', () => {
    const { store, calls } = fakeStore();
    const { check } = makeCheck(store);
    assert.equal(check.run(fakeContext({ method: 'POST', url: `${PATH}/x` })), null);
    assert.equal(check.run(fakeContext({ url: '/orders' })), null);
    assert.deepEqual(check.run(fakeContext({ url: PATH })), { code: 'method_not_allowed', status: 405, detail: 'Leaked keys are reported with POST.', headers: [['allow', 'POST']] });
    assert.deepEqual(calls, []);
  });

  it('quarantines a live key after answering, with the finder\'s address and the URL as evidence', async () => {
    const { store, calls } = fakeStore();
    const { check } = makeCheck(store);
    const { context } = presentation(report(LIVE));
    assert.equal(await check.run(context), ANSWERED);
    // The answer went out before the store was asked anything.
    assert.deepEqual(calls, []);
    assert.equal(context.res.statusCode, 202);
    await settled(check);
    assert.deepEqual(calls, ['lookup', 'quarantine key_live (presented as leaked) by key-presentation@198.51.100.7 {"url":"https://paste.example/abc","source":"presentation"}']);
  });

  it('revokes with action revoke', async () => {
    const { store, calls } = fakeStore();
    const { check } = makeCheck(store, { action: 'revoke' });
    await check.run(presentation(report(LIVE, null)).context);
    await settled(check);
    assert.deepEqual(calls, ['lookup', 'revoke key_live (presented as leaked) by key-presentation@198.51.100.7 {"url":null,"source":"presentation"}']);
  });

  it('takes the action of the key\'s tags over the default, the strongest when several tags name one', async () => {
    const { store, calls } = fakeStore();
    const { check } = makeCheck(store, { action: 'revoke', tagActions: new Map([['publishable', 'quarantine'], ['internal', 'revoke']]) });
    for (const key of [PUBLISHABLE, INTERNAL, LIVE]) await check.run(presentation(report(key, null)).context);
    await settled(check);
    assert.deepEqual(calls.filter((call) => call !== 'lookup').map((call) => call.split(' (')[0]), ['quarantine key_publishable', 'revoke key_internal', 'revoke key_live']);
  });

  it('takes the key\'s own action over its tags\' and the default', async () => {
    const { store, calls } = fakeStore();
    const { check } = makeCheck(store, { action: 'quarantine', tagActions: new Map([['publishable', 'quarantine'], ['internal', 'revoke']]) });
    for (const key of [OWN_REVOKE, OWN_QUARANTINE]) await check.run(presentation(report(key, null)).context);
    await settled(check);
    assert.deepEqual(calls.filter((call) => call !== 'lookup').map((call) => call.split(' (')[0]), ['revoke key_own_revoke', 'quarantine key_own_quarantine']);
  });

  it('answers an unknown, a revoked, a quarantined and a live key with the same status and the same bytes', async () => {
    const { store, calls } = fakeStore();
    const { check } = makeCheck(store);
    const answers = [];
    for (const key of ['pcl_unknown', REVOKED, QUARANTINED, LIVE, 'not even a key']) {
      const { context, sent } = presentation(report(key));
      assert.equal(await check.run(context), ANSWERED);
      answers.push({ status: context.res.statusCode, body: Buffer.concat(sent).toString() });
    }
    assert.equal(new Set(answers.map((answer) => JSON.stringify(answer))).size, 1, JSON.stringify(answers));
    assert.equal(answers[0]!.status, 202);
    await settled(check);
    // Only the live key was changed; revoked and quarantined keys keep their state.
    assert.deepEqual(calls.filter((call) => call !== 'lookup'), ['quarantine key_live (presented as leaked) by key-presentation@198.51.100.7 {"url":"https://paste.example/abc","source":"presentation"}']);
    assert.equal(calls.filter((call) => call === 'lookup').length, 5);
  });

  it('refuses a malformed body with 400, saying nothing of keys, and changes nothing', async () => {
    const { store, calls } = fakeStore();
    const { check } = makeCheck(store);
    const outcome = await check.run(presentation('{"key":5}').context);
    assert.deepEqual(outcome, { code: 'request_invalid', status: 400, detail: 'key must be a non-empty string.' });
    await settled(check);
    assert.deepEqual(calls, []);
  });

  it('limits reports per address, before reading the body, without charging other addresses', async () => {
    const { store } = fakeStore();
    const { check } = makeCheck(store, { rate: '2/h' });
    for (let index = 0; index < 2; index++) assert.equal(await check.run(presentation(report('pcl_x')).context), ANSWERED);
    const refused = (await check.run(presentation(report('pcl_x')).context)) as Denial;
    assert.equal(refused.code, 'rate_limited');
    assert.equal(refused.headers?.[0]?.[0], 'retry-after');
    assert.ok(Number(refused.headers?.[0]?.[1]) > 1000);
    assert.equal(await check.run(presentation(report('pcl_x'), '198.51.100.8').context), ANSWERED, 'another address has its own budget');
    await settled(check);
  });

  it('refuses a body over 4 KiB from its Content-Length', () => {
    const { store } = fakeStore();
    const { check } = makeCheck(store);
    const context = fakeContext({ method: 'POST', url: PATH, headers: ['Content-Length', '5000'] });
    assert.equal((check.run(context) as { code: string }).code, 'body_too_large');
  });

  it('refuses with 503 key_reports_busy while too many reports wait, before reading the body', async () => {
    const { store } = fakeStore();
    // Each lookup waits until released; a release waits for its lookup to have been asked
    // (not a fixed sleep: on a loaded machine the report may reach the store later).
    const asked: Array<() => void> = [];
    const held: PresentedKeyStore = { ...store, getKeyByDigest: () => new Promise((resolve) => asked.push(() => resolve(null))) };
    const releaseNext = async () => {
      const deadline = performance.now() + 10_000;
      while (asked.length === 0) {
        if (performance.now() > deadline) assert.fail('no store lookup was asked within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      asked.shift()!();
    };
    const { check } = makeCheck(held, { maxPending: 2 });
    assert.equal(await check.run(presentation(report('pcl_a')).context), ANSWERED);
    assert.equal(await check.run(presentation(report('pcl_b')).context), ANSWERED);
    assert.equal((await check.run(presentation(report('pcl_c')).context) as { code: string }).code, 'key_reports_busy');
    await releaseNext();
    await releaseNext();
    await settled(check);
    assert.equal(await check.run(presentation(report('pcl_d')).context), ANSWERED);
    await releaseNext();
    await settled(check);
  });

  it('tries the store again when it fails, and logs a report it had to drop without the key', async () => {
    const retried = fakeStore(2);
    const first = makeCheck(retried.store);
    await first.check.run(presentation(report(LIVE)).context);
    await settled(first.check);
    assert.equal(retried.calls.filter((call) => call.startsWith('quarantine')).length, 1, 'handled on the third attempt');

    const dropped = fakeStore(3);
    const second = makeCheck(dropped.store);
    await second.check.run(presentation(report(LIVE)).context);
    await settled(second.check);
    assert.equal(dropped.calls.filter((call) => call.startsWith('quarantine')).length, 0);
    const line = second.lines.find((entry) => entry.level === 'error');
    assert.match(line?.message ?? '', /dropped/);
    assert.ok(!JSON.stringify(second.lines).includes(LIVE), 'the key is never logged');
  });
});

describe('presentedKeys policy', () => {
  it('makes no check unless enabled', () => {
    const rate = compileRateText('10/h') as CompiledRate;
    const tagActions = new Map<string, PresentationAction>();
    assert.equal(presentedKeys.create({ leaks: { presentation: { enabled: false, path: PATH, action: 'quarantine', tagActions, rate } } }, fakeParts()), null);
    const check = presentedKeys.create({ leaks: { presentation: { enabled: true, path: PATH, action: 'quarantine', tagActions, rate } } }, fakeParts({ store: fakeStore().store as never, limiter: new MemoryLimiter({ maxKeys: 1, maxAddresses: 1 }) }));
    assert.ok(check instanceof PresentedKeyCheck);
  });
});
