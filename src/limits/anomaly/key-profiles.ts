import type { IpAddress } from '../../http/ip-address.ts';
import type { KeyProfileWrite, ProfileCountry, ProfileNetwork, StoredKeyProfile } from '../../store/anomaly-store.ts';
import { KeyProfile, MAX_COUNTRIES_PER_KEY, MINUTE_MS, rounded, type AnomalySettings, type DetectedAnomaly } from './key-profile.ts';
import type { CountryLookup } from './country-lookup.ts';
import { formatNetwork, networkOf, parseNetwork } from './network-prefix.ts';

/**
 * The profiles of the keys in use, at most `maxKeys` of them (the least recently used is
 * forgotten first), and the four detectors. A request costs a few map operations and
 * arithmetic on its key's profile, the same for every key and every history: no list is
 * scanned, nothing waits, and nothing is allocated unless something new is seen (a key, a
 * network, an address this minute) or a finding is made.
 *
 * A profile only learns until it is `learningWindow` old; after that, each request is judged:
 * - `new_network`: from a /24 (IPv4) or /48 (IPv6) the key was never used from (unless the key
 *   has been used from `maxNetworksPerKey` networks or more: such a key roams, and a new one says nothing);
 * - `many_addresses`: more distinct client addresses in the minute than `addressesPerMinute`
 *   and than `rateMultiple` times its usual number;
 * - `rate_spike`: more requests in the minute than `minRequestsPerMinute` and than `rateMultiple`
 *   times its usual rate (so a thief running at 10× is seen within the minute, as soon as the count passes);
 * - `denial_spike`: at least `minDenialsPerMinute` answers 4xx in the minute, and a share of
 *   4xx of at least `denialRatio` (`anomaly.denialPercent`; or twice its usual share);
 * - `new_country` (once `useCountries` gave it a lookup, `anomaly.countries`): from a country the
 *   key was never used from, once it has learned countries for `learningWindow` (unless it has
 *   been used from `MAX_COUNTRIES_PER_KEY` or more). A request from a new country is reported as
 *   that, its evidence naming the network too, rather than also as `new_network`.
 * Times are the requests' own (`now`), so tests drive it with a fake clock.
 */
export class KeyProfiles {
  readonly #settings: AnomalySettings;
  readonly #maxKeys: number;
  /** Key id → profile, least recently used first (a use moves it to the end, once a minute). */
  readonly #profiles = new Map<string, KeyProfile>();
  /** Profiles changed since the last `takeChanged`, each once. */
  #changed: KeyProfile[] = [];
  /** The country of an address, once loaded (`anomaly.countries`); null: countries are not looked at. */
  #countryOf: CountryLookup | null = null;

  constructor(settings: AnomalySettings, maxKeys: number) {
    this.#settings = settings;
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#profiles.size;
  }

  /** From now on, learns and judges the country of each request's address. */
  useCountries(lookup: CountryLookup): void {
    this.#countryOf = lookup;
  }

  /** The profile of a key, if it is held (tests, evidence). */
  profile(keyId: string): KeyProfile | undefined {
    return this.#profiles.get(keyId);
  }

  /**
   * One request with a known key, from `address` (`ip` parsed), at `now`; `denied` when the
   * gateway refused it with a 4xx; `since`: when the key was last changed (its record's
   * `updatedAt`), where a new finding window starts. Returns the finding it brings, or null.
   */
  observeRequest(keyId: string, ip: IpAddress, address: string, now: number, denied: boolean, since = 0): DetectedAnomaly | null {
    const profile = this.#current(keyId, now);
    profile.requests++;
    if (denied) profile.denials++;
    if (profile.addresses.size <= profile.addressThreshold(this.#settings)) profile.addresses.add(address);
    const network = networkOf(ip);
    // A network's country is looked up once per minute of use: the lookup's ranges are /24s or wider.
    const country = this.#countryOf !== null && profile.networks.get(network) !== profile.minute ? this.#countryOf(ip) : null;
    const isNew = this.#useNetwork(profile, network, now);
    const isNewCountry = country !== null && this.#useCountry(profile, country, now);
    if (now - profile.firstSeen < this.#settings.learningWindow) return null;
    if (isNewCountry && now - profile.countriesSince >= this.#settings.learningWindow) {
      const found = this.#detect(profile, 'new_country', now, since, { country, network: formatNetwork(network), address, knownCountries: profile.countries.size - 1 });
      if (found !== null) return found;
    }
    if (isNew) {
      const found = this.#detect(profile, 'new_network', now, since, { network: formatNetwork(network), address, knownNetworks: profile.networks.size - 1 });
      if (found !== null) return found;
    }
    return this.#judgeMinute(profile, now, since);
  }

  /** A 4xx answer from the upstream to a request already observed (at `now`, its arrival). */
  observeDenial(keyId: string, now: number, since = 0): DetectedAnomaly | null {
    const profile = this.#profiles.get(keyId);
    if (profile === undefined || profile.minute !== now - (now % MINUTE_MS)) return null;
    profile.denials++;
    if (now - profile.firstSeen < this.#settings.learningWindow) return null;
    return this.#judgeMinute(profile, now, since);
  }

  /** What changed since the last call, to be written; the profiles are then clean. */
  takeChanged(): KeyProfileWrite[] {
    const changed = this.#changed;
    this.#changed = [];
    return changed.map((profile) => {
      profile.dirty = false;
      const networks: ProfileNetwork[] = [];
      for (const network of profile.touched) {
        const lastSeen = profile.networks.get(network);
        if (lastSeen !== undefined) networks.push({ network: formatNetwork(network), lastSeen });
      }
      profile.touched.clear();
      const { keyId, firstSeen, updatedAt, activeMinutes, rateBaseline, addressBaseline, denialBaseline } = profile;
      const write: KeyProfileWrite = { keyId, firstSeen, updatedAt, activeMinutes, rateBaseline, addressBaseline, denialBaseline, networks };
      if (profile.touchedCountries.size > 0) {
        const countries: ProfileCountry[] = [];
        for (const [country, countryFirstSeen] of profile.touchedCountries) {
          const lastSeen = profile.countries.get(country);
          if (lastSeen !== undefined) countries.push({ country, firstSeen: countryFirstSeen, lastSeen });
        }
        profile.touchedCountries.clear();
        write.countries = countries;
      }
      return write;
    });
  }

  /**
   * Profiles read from the store at start (newest first). A key already seen since start keeps
   * its minute in progress and takes the stored start, baselines (when they are older) and networks.
   */
  restore(stored: readonly StoredKeyProfile[]): void {
    for (const saved of stored) {
      let profile = this.#profiles.get(saved.keyId);
      if (profile === undefined) {
        if (this.#profiles.size >= this.#maxKeys) continue;
        profile = new KeyProfile(saved.keyId, saved.firstSeen);
        profile.updatedAt = saved.updatedAt;
        this.#profiles.set(saved.keyId, profile);
      }
      profile.firstSeen = Math.min(profile.firstSeen, saved.firstSeen);
      if (saved.activeMinutes > profile.activeMinutes) {
        profile.activeMinutes = saved.activeMinutes;
        profile.rateBaseline = saved.rateBaseline;
        profile.addressBaseline = saved.addressBaseline;
        profile.denialBaseline = saved.denialBaseline;
      }
      // Oldest first, so the newest end up last, as uses put them.
      for (let index = saved.networks.length - 1; index >= 0; index--) this.#restoreNetwork(profile, saved.networks[index] as ProfileNetwork);
      const countries = saved.countries ?? [];
      for (let index = countries.length - 1; index >= 0; index--) this.#restoreCountry(profile, countries[index] as ProfileCountry);
    }
  }

  #restoreCountry(profile: KeyProfile, saved: ProfileCountry): void {
    profile.countriesSince = profile.countriesSince < 0 ? saved.firstSeen : Math.min(profile.countriesSince, saved.firstSeen);
    if (profile.countries.has(saved.country) || profile.countries.size >= MAX_COUNTRIES_PER_KEY) return;
    profile.countries.set(saved.country, saved.lastSeen - (saved.lastSeen % MINUTE_MS));
  }

  #restoreNetwork(profile: KeyProfile, saved: ProfileNetwork): void {
    const network = parseNetwork(saved.network);
    if (network === null || profile.networks.has(network) || profile.networks.size >= this.#settings.maxNetworksPerKey) return;
    profile.networks.set(network, saved.lastSeen - (saved.lastSeen % MINUTE_MS));
  }

  /** The key's profile, its minute rolled on to `now`'s; made (or the least recently used forgotten) as needed. */
  #current(keyId: string, now: number): KeyProfile {
    const minute = now - (now % MINUTE_MS);
    let profile = this.#profiles.get(keyId);
    if (profile === undefined) {
      if (this.#profiles.size >= this.#maxKeys) this.#profiles.delete(this.#profiles.keys().next().value as string);
      profile = new KeyProfile(keyId, now);
      profile.minute = minute;
      this.#profiles.set(keyId, profile);
    } else if (profile.minute !== minute) {
      profile.closeMinute();
      profile.minute = minute;
      // Once a minute per key: a use moves it to the end of the least-recently-used order.
      this.#profiles.delete(keyId);
      this.#profiles.set(keyId, profile);
    }
    profile.updatedAt = now;
    if (!profile.dirty) {
      profile.dirty = true;
      this.#changed.push(profile);
    }
    return profile;
  }

  /** Records a use of the network; true when the key had never been used from it and does not roam. */
  #useNetwork(profile: KeyProfile, network: number, now: number): boolean {
    const { networks } = profile;
    const lastSeen = networks.get(network);
    if (lastSeen === profile.minute) return false;
    const roams = lastSeen === undefined && networks.size >= this.#settings.maxNetworksPerKey;
    if (roams) networks.delete(networks.keys().next().value as number);
    if (lastSeen !== undefined) networks.delete(network);
    networks.set(network, now - (now % MINUTE_MS));
    profile.touched.add(network);
    return lastSeen === undefined && !roams;
  }

  /** Records a use of the country; true when the key had never been used from it and does not roam. */
  #useCountry(profile: KeyProfile, country: string, now: number): boolean {
    const { countries } = profile;
    const lastSeen = countries.get(country);
    const minute = now - (now % MINUTE_MS);
    if (lastSeen === minute) return false;
    if (profile.countriesSince < 0) profile.countriesSince = now;
    const roams = lastSeen === undefined && countries.size >= MAX_COUNTRIES_PER_KEY;
    if (roams) countries.delete(countries.keys().next().value as string);
    if (lastSeen !== undefined) countries.delete(country);
    countries.set(country, minute);
    // The store keeps the earliest first use any node wrote, so a known country's `now` changes nothing there.
    if (!profile.touchedCountries.has(country)) profile.touchedCountries.set(country, now);
    return lastSeen === undefined && !roams;
  }

  /** The minute's detectors, after the learning window. */
  #judgeMinute(profile: KeyProfile, now: number, since: number): DetectedAnomaly | null {
    const settings = this.#settings;
    const addressThreshold = profile.addressThreshold(settings);
    if (profile.addresses.size > addressThreshold) {
      const found = this.#detect(profile, 'many_addresses', now, since, { addresses: profile.addresses.size, threshold: addressThreshold, baseline: rounded(profile.addressBaseline) });
      if (found !== null) return found;
    }
    const rateThreshold = profile.rateThreshold(settings);
    if (profile.requests > rateThreshold) {
      const found = this.#detect(profile, 'rate_spike', now, since, { requests: profile.requests, threshold: rateThreshold, baseline: rounded(profile.rateBaseline) });
      if (found !== null) return found;
    }
    if (profile.denials >= settings.minDenialsPerMinute && profile.denials >= profile.denialThreshold(settings) * profile.requests) {
      return this.#detect(profile, 'denial_spike', now, since, { denials: profile.denials, requests: profile.requests, baselineRatio: rounded(profile.denialBaseline) });
    }
    return null;
  }

  #detect(profile: KeyProfile, kind: DetectedAnomaly['kind'], now: number, since: number, evidence: Record<string, string | number>): DetectedAnomaly | null {
    return this.#settings.detect.has(kind) ? profile.finding(kind, now, since, evidence) : null;
  }
}
