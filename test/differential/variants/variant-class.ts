import type fc from 'fast-check';
import type { RequestVariant } from '../request-variant.ts';

/** One family of request variants, generated and checked as one property (one test per upstream). */
export interface VariantClass {
  name: string;
  /** What readings the family tries to set apart, for the test title. */
  probes: string;
  arbitrary: fc.Arbitrary<RequestVariant>;
}
