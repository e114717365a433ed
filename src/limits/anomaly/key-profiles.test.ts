import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpAddress, type IpAddress } from '../../http/ip-address.ts';
import type { AnomalyKind } from '../../store/anomaly-store.ts';
import { FINDING_WINDOW_MS, MINUTE_MS, type AnomalySettings, type DetectedAnomaly } from './key-profile.ts';
import { KeyProfiles } from './key-profiles.ts';

const HOUR = 60 * MINUTE_MS;
/** A fake clock: every time is this plus an offset. */
const T0 = Date.parse('2026-12-01T00:00:00Z');

const SETTINGS: AnomalySettings = {
  learningWindow: HOUR,
  detect: new Set<AnomalyKind>(['new_network', 'many_addresses', 'rate_spike', 'denial_spike']),
  maxNetworksPerKey: 8,
  rateMultiple: 5,
  minRequestsPerMinute: 120,
  addressesPerMinute: 20,
  denialRatio: 0.5,
  minDenialsPerMinute: 30,
};

function ip(text: string): IpAddress {
  return parseIpAddress(text) as IpAddress;
}

interface Burst {
  /** Minutes after T0 the burst starts. */
  at: number;
  minutes?: number;
  perMinute: number;
  /** Addresses used in turn. */
  addresses: readonly string[];
  /** Every n-th request is refused with a 4xx (0: none). */
  deniedEvery?: number;
}

/** Sends the bursts' requests, spread evenly over each minute; returns every finding, in order. */
function drive(profiles: KeyProfiles, keyId: string, bursts: readonly Burst[]): DetectedAnomaly[] {
  const found: DetectedAnomaly[] = [];
  for (const burst of bursts) {
    for (let minute = 0; minute < (burst.minutes ?? 1); minute++) {
      for (let index = 0; index < burst.perMinute; index++) {
        const now = T0 + (burst.at + minute) * MINUTE_MS + Math.floor((index * MINUTE_MS) / burst.perMinute);
        const address = burst.addresses[index % burst.addresses.length] as string;
        const denied = burst.deniedEvery !== undefined && burst.deniedEvery > 0 && index % burst.deniedEvery === 0;
        const finding = profiles.observeRequest(keyId, ip(address), address, now, denied);
        if (finding !== null) found.push(finding);
      }
    }
  }
  return found;
}

const HOME = ['198.51.100.10', '198.51.100.11'];
/** An hour and a half of 10 requests a minute from two addresses of one /24: past the learning window. */
const LEARNED: Burst = { at: 0, minutes: 90, perMinute: 10, addresses: HOME };
const many = (count: number, prefix = '198.51.100.'): string[] => Array.from({ length: count }, (_, index) => `${prefix}${index + 20}`);

describe('KeyProfiles detectors', () => {
  const cases: Array<{ name: string; bursts: Burst[]; settings?: Partial<AnomalySettings>; expect: AnomalyKind[] }> = [
    { name: 'steady traffic from the usual networks', bursts: [LEARNED, { at: 90, minutes: 60, perMinute: 12, addresses: HOME }], expect: [] },
    { name: 'a new /24 during the learning window is learned', bursts: [{ at: 0, minutes: 30, perMinute: 10, addresses: HOME }, { at: 30, perMinute: 5, addresses: ['203.0.113.5'] }, { at: 31, minutes: 60, perMinute: 10, addresses: HOME }, { at: 95, perMinute: 5, addresses: ['203.0.113.9'] }], expect: [] },
    { name: 'a new /24 after the learning window', bursts: [LEARNED, { at: 90, perMinute: 3, addresses: ['203.0.113.5'] }], expect: ['new_network'] },
    { name: 'a new address in a known /24', bursts: [LEARNED, { at: 90, perMinute: 10, addresses: ['198.51.100.77'] }], expect: [] },
    { name: 'a new IPv6 /48 (the known one is a /48 apart)', bursts: [{ ...LEARNED, addresses: ['2001:db8:1::1', '2001:db8:1:ff::2'] }, { at: 90, perMinute: 1, addresses: ['2001:db8:2::1'] }], expect: ['new_network'] },
    { name: 'new_network off in `detect`', settings: { detect: new Set(['rate_spike']) }, bursts: [LEARNED, { at: 90, perMinute: 3, addresses: ['203.0.113.5'] }], expect: [] },
    { name: 'two new networks in one window: one finding', bursts: [LEARNED, { at: 90, perMinute: 1, addresses: ['203.0.113.5'] }, { at: 95, perMinute: 1, addresses: ['192.0.2.5'] }], expect: ['new_network'] },
    { name: 'new networks in two windows: two findings', bursts: [LEARNED, { at: 90, perMinute: 1, addresses: ['203.0.113.5'] }, { at: 90 + 60, perMinute: 1, addresses: ['192.0.2.5'] }], expect: ['new_network', 'new_network'] },
    { name: 'a roaming key (networks at the cap) says nothing of a new one', bursts: [{ ...LEARNED, addresses: Array.from({ length: 8 }, (_, index) => `10.${index}.0.1`) }, { at: 90, perMinute: 1, addresses: ['203.0.113.5'] }], expect: [] },
    { name: '21 distinct addresses in a minute (baseline 2)', bursts: [LEARNED, { at: 90, perMinute: 21, addresses: many(21) }], expect: ['many_addresses'] },
    { name: '20 distinct addresses in a minute: at the threshold, not past it', bursts: [LEARNED, { at: 90, perMinute: 20, addresses: many(20) }], expect: [] },
    { name: '121 requests in a minute (baseline 10: threshold max(120, 50))', bursts: [LEARNED, { at: 90, perMinute: 121, addresses: HOME }], expect: ['rate_spike'] },
    { name: '120 requests in a minute', bursts: [LEARNED, { at: 90, perMinute: 120, addresses: HOME }], expect: [] },
    { name: 'a quiet key (1/min) bursting to 100/min: under the floor', bursts: [{ ...LEARNED, perMinute: 1 }, { at: 90, perMinute: 100, addresses: HOME }], expect: [] },
    { name: 'a busy key (100/min) at 4×', bursts: [{ ...LEARNED, perMinute: 100 }, { at: 90, perMinute: 400, addresses: HOME }], expect: [] },
    { name: 'a busy key (100/min) at 6×', bursts: [{ ...LEARNED, perMinute: 100 }, { at: 90, perMinute: 600, addresses: HOME }], expect: ['rate_spike'] },
    { name: 'rate spike during learning', bursts: [{ at: 0, minutes: 30, perMinute: 10, addresses: HOME }, { at: 30, perMinute: 600, addresses: HOME }], expect: [] },
    { name: '4xx on every other request, 60 a minute: 30 denials', bursts: [LEARNED, { at: 90, perMinute: 60, addresses: HOME, deniedEvery: 2 }], expect: ['denial_spike'] },
    { name: '4xx on every other request, 58 a minute: 29 denials', bursts: [LEARNED, { at: 90, perMinute: 58, addresses: HOME, deniedEvery: 2 }], expect: [] },
    { name: '4xx on every third request of 100: a third, under half', bursts: [LEARNED, { at: 90, perMinute: 100, addresses: HOME, deniedEvery: 3 }], expect: [] },
    { name: 'a key usually refused half the time, still so', bursts: [{ ...LEARNED, perMinute: 50, deniedEvery: 2 }, { at: 90, perMinute: 100, addresses: HOME, deniedEvery: 2 }], expect: [] },
    { name: 'a key usually refused half the time, now always', bursts: [{ ...LEARNED, perMinute: 50, deniedEvery: 2 }, { at: 90, perMinute: 100, addresses: HOME, deniedEvery: 1 }], expect: ['denial_spike'] },
    { name: 'a thief: new /24 at 10× (new network first, then the rate)', bursts: [LEARNED, { at: 90, perMinute: 1000, addresses: ['203.0.113.5'] }], expect: ['new_network', 'rate_spike'] },
  ];
  for (const { name, bursts, settings, expect } of cases) {
    it(name, () => {
      const profiles = new KeyProfiles({ ...SETTINGS, ...settings }, 100);
      assert.deepEqual(drive(profiles, 'key_a', bursts).map((finding) => finding.kind), expect);
    });
  }

  it('says which network, address and window, on the first request from it', () => {
    const profiles = new KeyProfiles(SETTINGS, 100);
    drive(profiles, 'key_a', [LEARNED]);
    const now = T0 + 100 * MINUTE_MS + 123;
    const finding = profiles.observeRequest('key_a', ip('203.0.113.5'), '203.0.113.5', now, false);
    assert.deepEqual(finding, { keyId: 'key_a', kind: 'new_network', at: now, windowStart: now - (now % FINDING_WINDOW_MS), evidence: { network: '203.0.113.0/24', address: '203.0.113.5', knownNetworks: 1 } });
    assert.equal(profiles.observeRequest('key_a', ip('203.0.113.6'), '203.0.113.6', now + 1, false), null, 'learned: the next request from it is not new');
  });

  it('starts a new window when the key was changed since (released by an operator): the next finding counts again', () => {
    const profiles = new KeyProfiles(SETTINGS, 100);
    drive(profiles, 'key_a', [LEARNED]);
    const first = T0 + 95 * MINUTE_MS;
    const created = T0 - HOUR;
    assert.equal(profiles.observeRequest('key_a', ip('203.0.113.5'), '203.0.113.5', first, false, created)?.windowStart, first - (first % FINDING_WINDOW_MS));
    assert.equal(profiles.observeRequest('key_a', ip('192.0.2.5'), '192.0.2.5', first + MINUTE_MS, false, created), null, 'same window');
    const released = first + 2 * MINUTE_MS;
    const again = profiles.observeRequest('key_a', ip('100.64.0.5'), '100.64.0.5', released + 1000, false, released);
    assert.deepEqual([again?.kind, again?.windowStart], ['new_network', released]);
  });

  it('counts the upstream\'s 4xx answers (observeDenial) towards denial_spike', () => {
    const profiles = new KeyProfiles(SETTINGS, 100);
    drive(profiles, 'key_a', [LEARNED]);
    const now = T0 + 90 * MINUTE_MS;
    const found: Array<DetectedAnomaly | null> = [];
    for (let index = 0; index < 40; index++) {
      profiles.observeRequest('key_a', ip(HOME[0]!), HOME[0]!, now + index, false);
      found.push(profiles.observeDenial('key_a', now + index));
    }
    assert.deepEqual(found.map((finding) => finding?.kind ?? null).filter((kind) => kind !== null), ['denial_spike']);
    assert.equal(found.findIndex((finding) => finding !== null), 29, 'on the 30th denial');
  });
});

describe('KeyProfiles baselines and memory', () => {
  it('averages the first minutes of use, skips idle minutes, then weighs a minute 1/60', () => {
    const profiles = new KeyProfiles(SETTINGS, 10);
    drive(profiles, 'k', [{ at: 0, perMinute: 10, addresses: HOME }, { at: 5, perMinute: 20, addresses: HOME }, { at: 6, perMinute: 1, addresses: HOME }]);
    const profile = profiles.profile('k')!;
    assert.equal(profile.activeMinutes, 2, 'the minute in progress is not counted yet');
    assert.equal(profile.rateBaseline, 15, 'the mean of 10 and 20; the idle minutes between count for nothing');
    assert.equal(profile.addressBaseline, 2);
    drive(profiles, 'k', [{ at: 7, minutes: 100, perMinute: 30, addresses: HOME }]);
    assert.ok(Math.abs(profile.rateBaseline - 30) < 1, `moves towards 30: ${profile.rateBaseline}`);
  });

  it('does not learn from a minute that brought a finding', () => {
    const profiles = new KeyProfiles(SETTINGS, 10);
    drive(profiles, 'k', [LEARNED, { at: 90, perMinute: 1000, addresses: HOME }, { at: 91, perMinute: 10, addresses: HOME }]);
    assert.ok(Math.abs(profiles.profile('k')!.rateBaseline - 10) < 0.01, String(profiles.profile('k')!.rateBaseline));
  });

  it('holds at most maxKeys profiles, forgetting the least recently used', () => {
    const profiles = new KeyProfiles(SETTINGS, 2);
    drive(profiles, 'a', [{ at: 0, perMinute: 1, addresses: HOME }]);
    drive(profiles, 'b', [{ at: 1, perMinute: 1, addresses: HOME }]);
    drive(profiles, 'a', [{ at: 2, perMinute: 1, addresses: HOME }]);
    drive(profiles, 'c', [{ at: 3, perMinute: 1, addresses: HOME }]);
    assert.equal(profiles.size, 2);
    assert.deepEqual(['a', 'b', 'c'].map((id) => profiles.profile(id) !== undefined), [true, false, true]);
  });

  it('holds at most maxNetworksPerKey networks and maxima of addresses per minute', () => {
    const profiles = new KeyProfiles({ ...SETTINGS, maxNetworksPerKey: 3 }, 10);
    drive(profiles, 'k', [{ at: 0, perMinute: 500, addresses: Array.from({ length: 500 }, (_, index) => `10.${index % 250}.${index >> 1}.1`) }]);
    const profile = profiles.profile('k')!;
    assert.equal(profile.networks.size, 3);
    assert.equal(profile.addresses.size, 21, 'one past the threshold is enough to know it was passed');
  });

  it('gives what changed once, with the networks seen, and restores it into another node', () => {
    const profiles = new KeyProfiles(SETTINGS, 10);
    drive(profiles, 'k', [{ at: 0, minutes: 3, perMinute: 5, addresses: ['198.51.100.1', '2001:db8:9::1'] }]);
    const [written, ...rest] = profiles.takeChanged();
    assert.deepEqual(rest, []);
    assert.deepEqual(profiles.takeChanged(), [], 'clean until used again');
    assert.equal(written!.firstSeen, T0);
    assert.deepEqual(written!.networks.map((seen) => seen.network).sort(), ['198.51.100.0/24', '2001:db8:9::/48']);
    const restarted = new KeyProfiles(SETTINGS, 10);
    restarted.restore([{ ...written!, networks: written!.networks.map((seen) => ({ ...seen })) }]);
    // The stored start counts: past the learning window now, a known network is fine and a new one is not.
    const later = T0 + 2 * HOUR;
    assert.equal(restarted.observeRequest('k', ip('198.51.100.2'), '198.51.100.2', later, false), null);
    assert.equal(restarted.observeRequest('k', ip('203.0.113.1'), '203.0.113.1', later + 1, false)?.kind, 'new_network');
  });

  it('a key seen before the stored profiles arrive keeps the earlier start and both sets of networks', () => {
    const profiles = new KeyProfiles(SETTINGS, 10);
    profiles.observeRequest('k', ip('192.0.2.1'), '192.0.2.1', T0 + 2 * HOUR, false);
    profiles.restore([{ keyId: 'k', firstSeen: T0, updatedAt: T0 + HOUR, activeMinutes: 50, rateBaseline: 7, addressBaseline: 1, denialBaseline: 0.1, networks: [{ network: '198.51.100.0/24', lastSeen: T0 + HOUR }] }]);
    const profile = profiles.profile('k')!;
    assert.deepEqual([profile.firstSeen, profile.rateBaseline, profile.networks.size], [T0, 7, 2]);
  });
});
