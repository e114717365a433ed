/**
 * A day of ordinary API traffic for many keys, generated from a seed: each key has its own
 * owners' networks and addresses, its own rate with a daily rhythm, minute-to-minute noise,
 * busy spells (batch jobs at 2–3×), a share of 4xx answers, quiet nights for some; a few
 * keys are used from anywhere (a mobile app's key: a new /24 every few requests). Used to
 * show that anomaly detection stays silent on traffic like this (src/policies/anomaly).
 */

import { seededRandom } from './seeded-random.ts';

export { seededRandom };

export interface ScriptedKey {
  id: string;
  /** Requests per minute at the busiest hour. */
  peakRate: number;
  /** Rate at the quietest hour, as a share of the peak. */
  nightShare: number;
  /** Hour (UTC) of the peak. */
  peakHour: number;
  /** The owners' addresses (several per /24); empty for a roaming key. */
  addresses: string[];
  /** Share of requests answered 4xx. */
  denialShare: number;
  /** Hours in which a batch job runs at `burstFactor` for 10–20 minutes. */
  burstHours: number[];
  burstFactor: number;
  /** Used from anywhere: each request from a random /24 of a large pool. */
  roaming: boolean;
}

/** One request of the script. */
export interface ScriptedRequest {
  keyIndex: number;
  /** Milliseconds after the start of the day. */
  at: number;
  address: string;
  /** The 4xx status it gets (from the gateway or the upstream), or 0 for a 2xx. */
  status: number;
}

const MINUTE = 60_000;

export function scriptedKeys(seed: number, count: number): ScriptedKey[] {
  const random = seededRandom(seed);
  const pick = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  return Array.from({ length: count }, (_, index) => {
    const roaming = index % 10 === 9;
    const networks = pick(1, 3);
    const addresses: string[] = [];
    // Each key's owners sit in their own /24s of 10.0.0.0/8 (10.<key>.<n>.x).
    for (let network = 0; network < networks; network++) {
      const hosts = pick(1, 6);
      for (let host = 0; host < hosts; host++) addresses.push(`10.${index}.${network}.${pick(1, 254)}`);
    }
    return {
      id: `key_${String(index).padStart(2, '0')}`,
      peakRate: roaming ? pick(30, 90) : pick(2, 80),
      nightShare: 0.05 + random() * 0.5,
      peakHour: pick(8, 20),
      addresses: roaming ? [] : addresses,
      denialShare: random() * 0.08,
      burstHours: random() < 0.4 ? [pick(0, 23), pick(0, 23)] : [],
      burstFactor: 2 + random(),
      roaming,
    };
  });
}

/** The key's mean rate at a minute of the day: a smooth daily rhythm between night and peak. */
function rateAt(key: ScriptedKey, minuteOfDay: number): number {
  const hours = minuteOfDay / 60;
  const phase = Math.cos(((hours - key.peakHour) / 24) * 2 * Math.PI);
  const share = key.nightShare + (1 - key.nightShare) * (0.5 + 0.5 * phase);
  const hour = Math.floor(hours);
  const inBurst = key.burstHours.includes(hour) && minuteOfDay % 60 < 10 + (key.peakHour % 10);
  return key.peakRate * share * (inBurst ? key.burstFactor : 1);
}

/** A Poisson count (Knuth's method; rates here are small enough). */
function poisson(random: () => number, mean: number): number {
  if (mean > 60) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(random)));
  const limit = Math.exp(-mean);
  let count = 0;
  let product = random();
  while (product > limit) {
    count++;
    product *= random();
  }
  return count;
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * The requests of minutes [from, to) of the day, in time order per minute, for every key.
 * Deterministic for a seed.
 */
export function* scriptedRequests(keys: readonly ScriptedKey[], seed: number, fromMinute: number, toMinute: number): Generator<ScriptedRequest> {
  const random = seededRandom(seed ^ 0x5eed);
  for (let minute = fromMinute; minute < toMinute; minute++) {
    const batch: ScriptedRequest[] = [];
    keys.forEach((key, keyIndex) => {
      const count = poisson(random, rateAt(key, minute % 1440));
      for (let index = 0; index < count; index++) {
        const address = key.roaming
          ? `172.${16 + Math.floor(random() * 16)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`
          : (key.addresses[Math.floor(random() * key.addresses.length)] as string);
        const status = random() < key.denialShare ? [400, 403, 404, 429][Math.floor(random() * 4)] as number : 0;
        batch.push({ keyIndex, at: minute * MINUTE + Math.floor(random() * MINUTE), address, status });
      }
    });
    batch.sort((a, b) => a.at - b.at);
    yield* batch;
  }
}
