import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import { parseIpAddress, type IpAddress } from '../../http/ip-address.ts';
import type { AnomalySettings } from '../../limits/anomaly/key-profile.ts';
import { KeyProfiles } from '../../limits/anomaly/key-profiles.ts';
import { ANOMALY_KINDS, type AnomalyAction, type AnomalyFinding } from '../../store/anomaly-store.ts';
import type { CachedKey } from '../../verify/key-verifier.ts';
import type { LeakAction } from '../../keys/key-record.ts';
import type { RequestContext } from '../request-context.ts';
import { actionForKey } from './anomaly-config.ts';
import { AnomalyCheck } from './anomaly-check.ts';
import { fakeContext, fakeKey } from '../../../test/support/fake-context.ts';
import { scriptedKeys, scriptedRequests, seededRandom } from '../../../test/support/scripted-traffic.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Midnight of the scripted day, on the fake clock. */
const DAY_START = Date.parse('2026-12-01T00:00:00Z');

/** The defaults of `anomaly.*`, with a learning window of a quarter of the day. */
const SETTINGS: AnomalySettings = {
  learningWindow: 6 * HOUR,
  detect: new Set(ANOMALY_KINDS),
  maxNetworksPerKey: 64,
  rateMultiple: 5,
  minRequestsPerMinute: 120,
  addressesPerMinute: 20,
  denialRatio: 0.5,
  minDenialsPerMinute: 30,
};

const REFUSALS: Readonly<Record<number, Denial>> = { 403: denial('scope_missing', 'test'), 429: denial('rate_limited', 'test') };

/** What the recorder was handed; a quarantine or revocation is applied at once, as the change feed would. */
class RecordedFindings {
  readonly findings: AnomalyFinding[] = [];
  readonly #keys: Map<string, CachedKey>;

  constructor(keys: Map<string, CachedKey>) {
    this.#keys = keys;
  }

  report(finding: AnomalyFinding): void {
    this.findings.push(finding);
    const key = this.#keys.get(finding.keyId);
    if (key === undefined) return;
    if (finding.action === 'quarantine') key.record.quarantinedAt = finding.at;
    if (finding.action === 'revoke') key.record.revokedAt = finding.at;
  }
}

/** A request as the pipeline hands it to the check: key matched, client resolved, arrival time. */
function contextFor(key: CachedKey, address: string, now: number): RequestContext {
  const ip = parseIpAddress(address) as IpAddress;
  return { key, presentedKey: key, clientAddress: address, client: { address, ip, chain: [address] }, now, res: { writableEnded: false } } as unknown as RequestContext;
}

/** One request through the check's three points: refused by the gateway, answered 4xx upstream, or passed. */
function send(check: AnomalyCheck, key: CachedKey, address: string, now: number, status: number): void {
  const context = contextFor(key, address, now);
  const refusal = REFUSALS[status];
  if (refusal !== undefined) {
    check.onDenial(context, refusal);
    return;
  }
  // A refused (revoked, quarantined) key is refused by key-policy before this check runs.
  if (key.record.quarantinedAt !== null || key.record.revokedAt !== null) {
    check.onDenial(context, denial('key_quarantined'));
    return;
  }
  check.run(context);
  check.onUpstreamResponse(context, [], status === 0 ? 200 : status);
}

describe('anomaly detection on a scripted day of traffic (fake clock)', () => {
  it('raises no finding on a day of 50 keys\' ordinary traffic; then quarantines each key used from a new /24 at 10× its rate: within 5 s (roaming keys: within the minute)', (t) => {
    const seed = 20261201;
    const script = scriptedKeys(seed, 50);
    const keys = new Map(script.map((scripted) => [scripted.id, fakeKey({ id: scripted.id, tags: ['public'] })]));
    const byIndex = script.map((scripted) => keys.get(scripted.id) as CachedKey);
    const recorded = new RecordedFindings(keys);
    const profiles = new KeyProfiles(SETTINGS, 1000);
    const check = new AnomalyCheck({ profiles, recorder: recorded, actions: { action: 'notify', tagActions: new Map<string, AnomalyAction>([['public', 'quarantine']]) } });

    let requests = 0;
    for (const request of scriptedRequests(script, seed, 0, 1440)) {
      send(check, byIndex[request.keyIndex] as CachedKey, request.address, DAY_START + request.at, request.status);
      requests++;
    }
    t.diagnostic(`ordinary day: ${requests} requests of ${script.length} keys (${script.filter((key) => key.roaming).length} roaming), ${recorded.findings.length} findings`);
    assert.deepEqual(recorded.findings.map(({ keyId, kind, at }) => ({ keyId, kind, at: new Date(at).toISOString() })), [], 'no finding on ordinary traffic');
    assert.ok(requests > 500_000, `a day of traffic: ${requests} requests`);

    // The next day: ordinary traffic goes on for every key, and each key in turn is used,
    // for one minute, from a /24 it never used, at 10× its rate of the last hour.
    const random = seededRandom(seed + 1);
    const attacks = new Map<string, number>();
    const ordinary = scriptedRequests(script, seed + 2, 1440, 1440 + script.length * 2);
    let next = ordinary.next();
    script.forEach((scripted, index) => {
      const start = DAY_START + (1440 + index * 2) * MINUTE;
      const key = byIndex[index] as CachedKey;
      const baseline = profiles.profile(scripted.id)!.rateBaseline;
      const perMinute = Math.max(10, Math.round(10 * baseline));
      attacks.set(scripted.id, start);
      for (let sent = 0; sent < perMinute; sent++) {
        const now = start + Math.floor((sent * MINUTE) / perMinute);
        while (!next.done && DAY_START + next.value.at <= now) {
          send(check, byIndex[next.value.keyIndex] as CachedKey, next.value.address, DAY_START + next.value.at, next.value.status);
          next = ordinary.next();
        }
        send(check, key, `203.0.${index}.${1 + Math.floor(random() * 254)}`, now, 0);
      }
    });

    const firsts = recorded.findings.filter((finding) => finding.action === 'quarantine');
    const onAttackedKeys = recorded.findings.filter((finding) => finding.at >= (attacks.get(finding.keyId) ?? Infinity) && finding.at < (attacks.get(finding.keyId) as number) + MINUTE);
    const precision = onAttackedKeys.length / recorded.findings.length;
    const delayOf = (finding: AnomalyFinding) => finding.at - (attacks.get(finding.keyId) as number);
    const roaming = new Set(script.filter((scripted) => scripted.roaming).map((scripted) => scripted.id));
    const settled = firsts.filter((finding) => !roaming.has(finding.keyId));
    const roamers = firsts.filter((finding) => roaming.has(finding.keyId));
    t.diagnostic(`attacks: ${attacks.size}; findings: ${recorded.findings.length} (${onAttackedKeys.length} on an attacked key during its attack): precision ${precision.toFixed(3)}; keys quarantined ${new Set(firsts.map((finding) => finding.keyId)).size}/${attacks.size}`);
    t.diagnostic(`time to detect (fake clock, from the first request from the new /24): keys with their own networks ${settled.length}, max ${Math.max(...settled.map(delayOf))} ms (new_network); roaming keys ${roamers.length}, max ${Math.max(...roamers.map(delayOf))} ms (${[...new Set(roamers.map((finding) => finding.kind))].join(', ')})`);
    assert.equal(precision, 1, 'every finding is on an attacked key, during its attack');
    assert.deepEqual([...new Set(firsts.map((finding) => finding.keyId))].sort(), [...attacks.keys()].sort(), 'every attacked key is quarantined');
    assert.equal(settled.length, attacks.size - roaming.size);
    for (const finding of settled) {
      assert.equal(finding.kind, 'new_network');
      assert.ok(String(finding.evidence.network).startsWith('203.0.'));
      assert.ok(delayOf(finding) <= 5000, `${finding.keyId} within 5 s: ${delayOf(finding)} ms`);
    }
    // A roaming key has no networks of its own to leave: its thief shows only by the rate or
    // the number of addresses, within the minute.
    for (const finding of roamers) {
      assert.ok(finding.kind === 'rate_spike' || finding.kind === 'many_addresses', finding.kind);
      assert.ok(delayOf(finding) < MINUTE, `${finding.keyId} within the minute: ${delayOf(finding)} ms`);
    }
  });
});

describe('AnomalyCheck', () => {
  function learnedCheck(tags: string[] = [], leakAction: LeakAction | null = null) {
    const key = fakeKey({ id: 'key_x', tags, leakAction });
    const recorded = new RecordedFindings(new Map([['key_x', key]]));
    const check = new AnomalyCheck({ profiles: new KeyProfiles({ ...SETTINGS, learningWindow: HOUR }, 10), recorder: recorded, actions: { action: 'notify', tagActions: new Map<string, AnomalyAction>([['low', 'quarantine'], ['high', 'revoke']]) } });
    for (let minute = 0; minute < 70; minute++) send(check, key, '198.51.100.7', DAY_START + minute * MINUTE, 0);
    return { key, recorded, check };
  }

  it('never refuses; passes on requests without a key', () => {
    const { check, recorded } = learnedCheck();
    assert.equal(check.run(fakeContext({ address: '203.0.113.9' })), null);
    assert.equal(check.run(contextFor(fakeKey({ id: 'key_x' }), '203.0.113.9', DAY_START + 80 * MINUTE)), null);
    assert.equal(recorded.findings.length, 1, 'the finding is reported, the request still passes');
  });

  const actions: Array<[string[], AnomalyAction]> = [[[], 'notify'], [['other'], 'notify'], [['low'], 'quarantine'], [['low', 'high'], 'revoke'], [['high', 'low'], 'revoke']];
  for (const [tags, action] of actions) {
    it(`a key tagged [${tags.join(', ')}] gets ${action}`, () => {
      const { key, check, recorded } = learnedCheck(tags);
      send(check, key, '203.0.113.9', DAY_START + 80 * MINUTE, 0);
      assert.deepEqual(recorded.findings.map((finding) => [finding.kind, finding.action]), [['new_network', action]]);
      assert.equal(actionForKey({ tags, leakAction: null }, { action: 'notify', tagActions: new Map([['low', 'quarantine'], ['high', 'revoke']]) }), action);
    });
  }

  // The key's own action wins over its tags' and the default, whether stronger or weaker.
  const ownActions: Array<[string[], LeakAction, AnomalyAction]> = [[[], 'quarantine', 'quarantine'], [['low'], 'revoke', 'revoke'], [['high'], 'notify', 'notify'], [['high'], 'quarantine', 'quarantine']];
  for (const [tags, own, action] of ownActions) {
    it(`a key tagged [${tags.join(', ')}] with its own action ${own} gets ${action}`, () => {
      const { key, check, recorded } = learnedCheck(tags, own);
      send(check, key, '203.0.113.9', DAY_START + 80 * MINUTE, 0);
      assert.deepEqual(recorded.findings.map((finding) => [finding.kind, finding.action]), [['new_network', action]]);
      assert.equal(key.record.revokedAt !== null, action === 'revoke');
    });
  }

  it('counts a gateway refusal of a matched key once, and an upstream 4xx as a denial', () => {
    const { key, check, recorded } = learnedCheck();
    const now = DAY_START + 80 * MINUTE;
    for (let index = 0; index < 15; index++) check.onDenial(contextFor(key, '198.51.100.7', now + index), denial('rate_limited', 'test'));
    for (let index = 0; index < 15; index++) send(check, key, '198.51.100.7', now + 100 + index, 404);
    assert.deepEqual(recorded.findings.map((finding) => finding.kind), ['denial_spike']);
  });

  it('counts a request a check answered itself (its answer already sent) as a request, not a refusal', () => {
    const { key, check, recorded } = learnedCheck();
    const now = DAY_START + 80 * MINUTE;
    for (let index = 0; index < 40; index++) {
      const context = contextFor(key, '198.51.100.7', now + index);
      (context.res as { writableEnded: boolean }).writableEnded = true;
      check.onDenial(context, denial('request_invalid', 'answered'));
    }
    assert.deepEqual(recorded.findings, []);
    assert.equal(check.run(contextFor(key, '198.51.100.7', now + 50)), null);
  });

  it('leaves quarantined and revoked keys alone', () => {
    const { key, check, recorded } = learnedCheck();
    key.record.quarantinedAt = DAY_START;
    check.run(contextFor(key, '203.0.113.9', DAY_START + 80 * MINUTE));
    check.onDenial(contextFor(key, '203.0.113.9', DAY_START + 80 * MINUTE), denial('key_quarantined'));
    assert.deepEqual(recorded.findings, []);
  });
});
