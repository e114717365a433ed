import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { parseIpAddress, type IpAddress } from '../../http/ip-address.ts';
import { ANOMALY_KINDS, type AnomalyFinding, type AnomalyFindingResult, type AnomalyStore, type KeyProfileWrite, type StoredKeyProfile } from '../../store/anomaly-store.ts';
import { KeyProfiles } from '../../limits/anomaly/key-profiles.ts';
import { AnomalyRecorder } from './anomaly-recorder.ts';

const T0 = Date.parse('2026-12-01T00:00:00Z');

/** A store write thread stand-in: records each call; `failWith` makes the next calls fail. */
class FakeWrites implements AnomalyStore {
  readonly findings: AnomalyFinding[][] = [];
  readonly profiles: KeyProfileWrite[][] = [];
  stored: StoredKeyProfile[] = [];
  failWith: Error | null = null;

  async recordKeyProfiles(batch: KeyProfileWrite[]): Promise<void> {
    if (this.failWith !== null) throw this.failWith;
    this.profiles.push(structuredClone(batch));
  }

  async loadKeyProfiles(): Promise<StoredKeyProfile[]> {
    return this.stored;
  }

  async recordAnomalyFindings(batch: AnomalyFinding[]): Promise<AnomalyFindingResult[]> {
    if (this.failWith !== null) throw this.failWith;
    this.findings.push(batch);
    return batch.map(({ keyId, kind, windowStart }) => ({ keyId, kind, windowStart, recorded: true }));
  }
}

function finding(keyId: string): AnomalyFinding {
  return { keyId, kind: 'new_network', windowStart: T0, at: T0, action: 'quarantine', evidence: { network: '203.0.113.0/24' } };
}

function setUp() {
  const writes = new FakeWrites();
  const profiles = new KeyProfiles({ learningWindow: 0, detect: new Set(ANOMALY_KINDS), maxNetworksPerKey: 8, rateMultiple: 5, minRequestsPerMinute: 120, addressesPerMinute: 20, denialRatio: 0.5, minDenialsPerMinute: 30 }, 10);
  const errors: unknown[] = [];
  const recorder = new AnomalyRecorder({ profiles, writes, logger: pino({ level: 'silent' }), load: { limit: 10, networksPerKey: 8 }, onStoreError: (error) => errors.push(error) });
  return { writes, profiles, recorder, errors };
}

const ip = (text: string) => parseIpAddress(text) as IpAddress;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('AnomalyRecorder', () => {
  it('sends findings after the request that made them has moved on, in one batch', async () => {
    const { writes, recorder } = setUp();
    recorder.report(finding('a'));
    recorder.report(finding('b'));
    assert.equal(writes.findings.length, 0, 'nothing sent on the request\'s own turn');
    await nextTurn();
    await recorder.sendFindings();
    assert.deepEqual(writes.findings.map((batch) => batch.map((sent) => sent.keyId)), [['a', 'b']]);
  });

  it('keeps findings while the store is out of reach, and drops them after repeated refusals', async () => {
    const { writes, recorder, errors } = setUp();
    writes.failWith = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    recorder.report(finding('a'));
    for (let attempt = 0; attempt < 5; attempt++) await recorder.sendFindings();
    assert.equal(errors.length, 5);
    writes.failWith = null;
    await recorder.sendFindings();
    assert.deepEqual(writes.findings.map((batch) => batch.map((sent) => sent.keyId)), [['a']], 'kept through the outage');
    writes.failWith = new RangeError('refused');
    recorder.report(finding('b'));
    for (let attempt = 0; attempt < 3; attempt++) await recorder.sendFindings();
    writes.failWith = null;
    await recorder.sendFindings();
    assert.equal(writes.findings.length, 1, 'dropped after three refusals');
  });

  it('writes the profiles that changed, again after a failure with what changed meanwhile, and at close', async () => {
    const { writes, profiles, recorder } = setUp();
    recorder.start(60_000);
    profiles.observeRequest('k', ip('198.51.100.1'), '198.51.100.1', T0, false);
    writes.failWith = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await recorder.flushProfiles();
    writes.failWith = null;
    profiles.observeRequest('k', ip('192.0.2.1'), '192.0.2.1', T0 + 60_000, false);
    profiles.observeRequest('j', ip('192.0.2.1'), '192.0.2.1', T0 + 60_000, false);
    await recorder.close();
    assert.equal(writes.profiles.length, 1);
    const [batch] = writes.profiles;
    assert.deepEqual(batch!.map((write) => write.keyId), ['k', 'j']);
    assert.deepEqual(batch![0]!.networks.map((seen) => seen.network).sort(), ['192.0.2.0/24', '198.51.100.0/24'], 'the unwritten networks and the new ones');
    assert.equal(batch![0]!.firstSeen, T0);
  });

  it('restores the stored profiles at start', async () => {
    const { writes, profiles, recorder } = setUp();
    writes.stored = [{ keyId: 'k', firstSeen: T0, updatedAt: T0, activeMinutes: 3, rateBaseline: 4, addressBaseline: 1, denialBaseline: 0, networks: [{ network: '198.51.100.0/24', lastSeen: T0 }] }];
    recorder.start(60_000);
    await recorder.close();
    assert.equal(profiles.profile('k')?.rateBaseline, 4);
  });
});
