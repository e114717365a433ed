import type { Logger } from 'pino';
import type { ConfigFragment } from '../config/config-fragment.ts';
import type { LimiterBackend } from '../limits/limiter-backend.ts';
import type { QuotaLedger } from '../limits/quota-ledger.ts';
import type { Operation } from '../routes/operation.ts';
import type { RouteTable } from '../routes/route-table.ts';
import type { KeyStore } from '../store/key-store.ts';
import type { KeyVerifier } from '../verify/key-verifier.ts';
import type { Check } from './request-context.ts';

/** The routes the process compiled at start (src/app/routes.ts): the table and its operations. */
export interface CompiledRoutes {
  readonly table: RouteTable;
  readonly operations: readonly Operation[];
}

/** What the process builds once and hands to every policy that asks for it. */
export interface PolicyParts {
  readonly logger: Logger;
  /** A reporter for an error that can repeat on every request (a store lookup in an outage), logged as `message`. */
  repeatedErrors(message: string): (error: unknown) => void;
  readonly verifier: KeyVerifier;
  /** The key store itself, for a policy that changes keys (a leak alert quarantines one); the request path reads keys through `verifier`. */
  readonly store: KeyStore;
  /** Null when neither an OpenAPI document nor route rules are configured. */
  readonly routes: CompiledRoutes | null;
  /** Rate limits, lockout counts and quotas: in memory, or shared through Redis. */
  readonly limiter: LimiterBackend;
  readonly quotas: QuotaLedger;
}

/**
 * A policy, as its folder exports it (`src/policies/<name>/index.ts`): its place in the
 * pipeline, the options it owns, and how its check is made from them. The process makes every
 * check once, at start; a policy whose options leave it off returns null and is not in the
 * pipeline at all.
 *
 * `Settings` is what its config fragment reads; `Needs` is the part of the whole configuration
 * its `create` reads, which may include options other parts own (the listener's `tls`).
 */
export interface Policy<Settings, Needs = Settings> {
  readonly name: string;
  /** Its stage in docs/architecture.md's pipeline; the ordered list keeps stages in order. */
  readonly stage: number;
  readonly config: ConfigFragment<Settings> | null;
  create(config: Needs, parts: PolicyParts): Check | null;
}
