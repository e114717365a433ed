/**
 * `anomaly.countries` through the policy as the process makes it: on, the offline lookup is
 * imported and a request from another country is `new_country`; off (the default), no country
 * is looked at and the same request is only `new_network`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpAddress, type IpAddress } from '../../http/ip-address.ts';
import { loadCountryLookup } from '../../limits/anomaly/country-lookup.ts';
import { ANOMALY_KINDS, type AnomalyFinding, type AnomalyStore } from '../../store/anomaly-store.ts';
import type { Check, RequestContext } from '../request-context.ts';
import { fakeKey, fakeParts } from '../../../test/support/fake-context.ts';
import type { AnomalyPolicySettings } from './anomaly-config.ts';
import { anomaly } from './index.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const HOME = '193.0.6.139';
const ABROAD = '133.242.0.1';

function settings(countries: boolean): AnomalyPolicySettings {
  return {
    anomaly: {
      enabled: true,
      countries,
      detection: { learningWindow: 60 * MINUTE, detect: new Set(ANOMALY_KINDS), maxNetworksPerKey: 64, rateMultiple: 5, minRequestsPerMinute: 120, addressesPerMinute: 20, denialRatio: 0.5, minDenialsPerMinute: 30 },
      maxKeys: 10,
      action: 'notify',
      tagActions: new Map(),
      flushInterval: 60 * MINUTE,
    },
  };
}

/** The policy's check over a store that records the findings, and a way to stop its recorder. */
function made(countries: boolean) {
  const findings: AnomalyFinding[] = [];
  const writes: AnomalyStore = {
    recordKeyProfiles: async () => {},
    loadKeyProfiles: async () => [],
    recordAnomalyFindings: async (batch) => (findings.push(...batch), batch.map(({ keyId, kind, windowStart }) => ({ keyId, kind, windowStart, recorded: true }))),
  };
  const closers: Array<() => Promise<void> | void> = [];
  const check = anomaly.create(settings(countries), fakeParts({ writes: writes as never, keepRunning: (_name, part, close) => (closers.push(() => close(part)), part) })) as Check;
  return { check, findings, close: () => Promise.all(closers.map((close) => close())) };
}

async function drive(check: Check): Promise<void> {
  const key = fakeKey({ id: 'key_c' });
  const request = (address: string, now: number) => ({ key, presentedKey: key, clientAddress: address, client: { address, ip: parseIpAddress(address) as IpAddress, chain: [address] }, now, res: { writableEnded: false } }) as unknown as RequestContext;
  for (let minute = 0; minute < 70; minute++) check.run(request(HOME, T0 + minute * MINUTE));
  check.run(request(ABROAD, T0 + 80 * MINUTE));
  // The recorder hands findings to the store on the next turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}

describe('anomaly.countries', () => {
  it('on: the lookup is loaded and a request from another country is new_country', async () => {
    const lookup = await loadCountryLookup();
    assert.notEqual(lookup(parseIpAddress(HOME) as IpAddress), lookup(parseIpAddress(ABROAD) as IpAddress), 'two countries, per the package');
    const { check, findings, close } = made(true);
    // The policy imports the lookup itself; once imported it is ready within a turn.
    await new Promise((resolve) => setImmediate(resolve));
    await drive(check);
    await close();
    assert.deepEqual(findings.map((finding) => [finding.kind, finding.evidence.country]), [['new_country', lookup(parseIpAddress(ABROAD) as IpAddress)]]);
  });

  it('off (the default): no country is looked at; the same request is new_network', async () => {
    const { check, findings, close } = made(false);
    await new Promise((resolve) => setImmediate(resolve));
    await drive(check);
    await close();
    assert.deepEqual(findings.map((finding) => finding.kind), ['new_network']);
  });
});
