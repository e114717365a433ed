import type { ConfigFragment } from '../../config/config-fragment.ts';
import { duration } from '../../config/option-schemas.ts';
import { parseDuration } from '../../http/units.ts';
import type { LockoutPolicy } from '../../limits/limiter-backend.ts';
import { RATE_FORMATS } from '../../limits/rate-formats.ts';
import { compileRateText, type CompiledRate } from '../../limits/rate-policy.ts';
import { RefusedAddresses } from '../../limits/refused-addresses.ts';
import type { Policy } from '../policy.ts';
import { AddressLimit } from './address-limit-check.ts';

export interface AddressLimitSettings {
  limits: { addressRate: CompiledRate | null; maxAddresses: number };
  lockout: { maxFailures: number; window: number; coolOff: number };
}

interface RawAddressLimit {
  limits: { addressRate: string | null; maxAddresses: number };
  lockout: { maxFailures: number; window: unknown; coolOff: unknown };
}

const addressLimitConfig: ConfigFragment<AddressLimitSettings> = {
  formats: RATE_FORMATS,
  options: {
    'limits.addressRate': {
      type: ['string', 'null'],
      format: 'rate-policy',
      default: '10/s burst 100',
      description: 'Rate of denied and unauthenticated requests per client address (missing or invalid keys, preflights, refused methods, requests over a key\'s limit). An address over it is refused with 429 `rate_limited` before its key is looked at, authenticated requests included. `null` turns it off.',
    },
    'limits.maxAddresses': { type: 'integer', minimum: 1, default: 100000, description: 'Client addresses whose limit and lockout state is kept in memory at once; the oldest are forgotten first. Bounds memory whatever addresses clients come from.' },
    'lockout.maxFailures': { type: 'integer', minimum: 0, default: 20, description: 'Invalid keys from one client address within `lockout.window` that lock the address out (429 `locked_out`, before any key lookup). `0` turns the lockout off.' },
    'lockout.window': duration('The window, from an address\'s first invalid key, within which `lockout.maxFailures` invalid keys lock it out.', '1m'),
    'lockout.coolOff': duration('How long a locked-out address is refused.', '5m'),
  },
  read(document) {
    const { limits, lockout } = document as unknown as RawAddressLimit;
    return {
      limits: { addressRate: compileRateText(limits.addressRate), maxAddresses: limits.maxAddresses },
      lockout: { maxFailures: lockout.maxFailures, window: parseDuration(lockout.window) as number, coolOff: parseDuration(lockout.coolOff) as number },
    };
  },
};

/** Stage 4, and a charge on every denial: brute-force lockout and the per-address budget of denied requests. Off when both are off. */
export const addressLimit: Policy<AddressLimitSettings> = {
  name: 'address-limit',
  stage: 4,
  config: addressLimitConfig,
  create(config, parts) {
    const { addressRate, maxAddresses } = config.limits;
    const lockout: LockoutPolicy | null = config.lockout.maxFailures === 0 ? null : { maxFailures: config.lockout.maxFailures, windowMs: config.lockout.window, coolOffMs: config.lockout.coolOff };
    if (addressRate === null && lockout === null) return null;
    return new AddressLimit({ backend: parts.limiter, refused: new RefusedAddresses(maxAddresses), addressRate, lockout });
  },
};
