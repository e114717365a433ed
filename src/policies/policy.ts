import type { Logger } from 'pino';
import type { ConfigFragment } from '../config/config-fragment.ts';
import type { LimiterBackend } from '../limits/limiter-backend.ts';
import type { QuotaLedger } from '../limits/quota-ledger.ts';
import type { Operation } from '../routes/operation.ts';
import type { RouteTable } from '../routes/route-table.ts';
import type { KeyStore } from '../store/key-store.ts';
import type { StoreWrites } from '../store/usage-writes.ts';
import type { TokenKeyRing } from '../verify/dpop/token-key-ring.ts';
import type { KeyVerifier } from '../verify/key-verifier.ts';
import type { ApiTarget, Check } from './request-context.ts';
import type { ResponseFindings } from './response-findings.ts';

/** The routes the process compiled at start (src/app/routes.ts): the table and its operations. */
export interface CompiledRoutes {
  readonly table: RouteTable;
  readonly operations: readonly Operation[];
}

/** One API of the gateway (`apis`, or the implicit `default`): what it matches and its routes. */
export interface ApiDefinition extends ApiTarget {
  /** Host patterns, lower case (`orders.example.com`, `*.example.com`); empty: any host. */
  readonly hosts: readonly string[];
  /** Path prefix (`/orders`), or `''` for any path. */
  readonly pathPrefix: string;
  /** Whether the prefix is removed from the path before routes are matched and the request is forwarded. */
  readonly stripPrefix: boolean;
  /** Its OpenAPI document and route rules, compiled; null when it has neither (every route allowed). */
  readonly routes: CompiledRoutes | null;
}

/** What the process builds once and hands to every policy that asks for it. */
export interface PolicyParts {
  readonly logger: Logger;
  /** A reporter for an error that can repeat on every request (a store lookup in an outage), logged as `message`. */
  repeatedErrors(message: string): (error: unknown) => void;
  readonly verifier: KeyVerifier;
  /** The key store itself, for a policy that changes keys (a leak alert quarantines one); the request path reads keys through `verifier`. */
  readonly store: KeyStore;
  /** The routes of the first API (of the only one, without `apis`); null when it has neither an OpenAPI document nor route rules. */
  readonly routes: CompiledRoutes | null;
  /**
   * Every API, in config order (`index` is the position); one, named `default`, without
   * `apis`. Absent: one API whose routes are `routes` (tests).
   */
  readonly apis?: readonly ApiDefinition[];
  /**
   * Where a policy writes in batches, off the request thread (anomaly profiles and findings):
   * the store write thread, or the store itself where there is none. Absent in tests that need none.
   */
  readonly writes?: StoreWrites;
  /**
   * Keeps a policy's background part (a flush timer) until the process stops, then closes it:
   * after the listener has drained, before the store write thread closes. Absent in tests.
   */
  keepRunning?<Part>(name: string, part: Part, close: (part: Part) => Promise<void> | void): Part;
  /** Rate limits, lockout counts and quotas: in memory, or shared through Redis. */
  readonly limiter: LimiterBackend;
  readonly quotas: QuotaLedger;
  /** The token signing keys (delegated browser tokens), read from the store on first need. */
  readonly tokenKeys: TokenKeyRing;
  /** Where response checks report (the would-deny report); absent when no API has them on. */
  readonly responseFindings?: ResponseFindings;
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

/** The routes of every API that has some. */
export function routesOf(parts: PolicyParts): CompiledRoutes[] {
  const all = parts.apis === undefined ? [parts.routes] : parts.apis.map((api) => api.routes);
  return all.filter((routes) => routes !== null);
}

/** Every operation of every API (what per-operation settings such as `reportOnly` are read from). */
export function operationsOf(parts: PolicyParts): Operation[] {
  return routesOf(parts).flatMap((routes) => routes.operations);
}
