import type { Logger } from 'pino';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import { continueIfAwaited } from '../../http/expect-continue.ts';
import { bodyTooLarge, readBoundedBody } from '../../http/request-body.ts';
import { digestKey } from '../../keys/key-digest.ts';
import { actionForKey } from '../../keys/tag-actions.ts';
import type { LimitOutcome, LimiterBackend } from '../../limits/limiter-backend.ts';
import type { CompiledRate } from '../../limits/rate-policy.ts';
import { retryAfterSeconds } from '../../limits/rate-limit-fields.ts';
import { retryDenials } from '../../limits/retry-denials.ts';
import type { AuditActor } from '../../store/audit-log.ts';
import type { KeyStore } from '../../store/key-store.ts';
import { ANSWERED, type Check, type CheckResult, type RequestContext } from '../request-context.ts';
import { parsePresentedKey } from './presentation-body.ts';

/** What a presented key of this store gets: held until an operator decides, or refused for good. */
export type PresentationAction = 'quarantine' | 'revoke';
/** Weakest first: a key whose tags name both gets the last. */
export const PRESENTATION_ACTIONS: readonly PresentationAction[] = ['quarantine', 'revoke'];
const NO_TAG_ACTIONS: ReadonlyMap<string, PresentationAction> = new Map();

/** The part of the store a presentation reads and writes. */
export type PresentedKeyStore = Pick<KeyStore, 'getKeyByDigest' | 'quarantineKey' | 'revokeKey'>;

export interface PresentedKeyOptions {
  /** The exact canonical path keys are presented on. */
  path: string;
  /** The action of a key with no tag in `tagActions`. */
  action: PresentationAction;
  /** Tag → action; a key with several such tags gets the strongest. */
  tagActions?: ReadonlyMap<string, PresentationAction>;
  /** Presentations per client address; charged before the body is read. */
  rate: CompiledRate;
  limiter: LimiterBackend;
  store: PresentedKeyStore;
  logger: Logger;
  onStoreError(error: unknown): void;
  /** Presentations received and not yet handled, at most; more are refused with 503. */
  maxPending?: number;
  /** Waits before a store attempt is tried again (the first attempt is not delayed). */
  retryDelaysMs?: readonly number[];
}

/** A key and an optional URL: a few hundred bytes. */
const MAX_BODY = 4096;
const DEFAULT_MAX_PENDING = 1000;
const DEFAULT_RETRY_DELAYS_MS = [1000, 5000];
const REASON = 'presented as leaked';
/**
 * The one answer to every well-formed presentation: known key, unknown key, revoked key,
 * quarantined key. Fixed bytes, sent before the key is looked up.
 */
const RECEIVED = JSON.stringify({ status: 'received', detail: 'Thank you. If this is a key of this service, it can no longer be used. This answer is the same for every report.' });

const ONLY_POST = denial('method_not_allowed', 'Leaked keys are reported with POST.', [['allow', 'POST']]);
const BUSY = denial('key_reports_busy');
const throttled = retryDenials('rate_limited', 'Too many keys were reported from this address. Retry after the number of seconds in Retry-After.');

/**
 * The rate limiter's id of an address's presentations. Addresses never contain a space, so it
 * never shares a budget with the address's own (`limits.addressRate`).
 */
const limiterId = (address: string) => `presented ${address}`;

interface Presentation {
  digest: string;
  url: string | null;
  address: string;
  requestId: string;
}

/**
 * Stage 5, when `leaks.presentation.enabled`: anyone who found a key POSTs it here and the key
 * is quarantined (or revoked), like GitHub's credential revocation API. Every other request
 * passes on at the cost of one string comparison.
 *
 * The answer never says whether the key existed: every well-formed report gets the same 202
 * and the same bytes, and it is sent *before* the key is looked up, so its timing cannot depend
 * on the store either. The lookup and the change run afterwards, one at a time, from a bounded
 * queue (retried on a store failure). The finder's address and the reported URL go to the key's
 * audit entry; the key itself is never logged. A presentation is charged to the address's own
 * rate (`leaks.presentation.rate`) before its body is read.
 */
export class PresentedKeyCheck implements Check {
  readonly name = 'presented-keys';
  readonly #options: PresentedKeyOptions;
  readonly #maxPending: number;
  readonly #pending: Presentation[] = [];
  #draining = false;

  constructor(options: PresentedKeyOptions) {
    this.#options = options;
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  }

  run(context: RequestContext): CheckResult | Promise<CheckResult> {
    if (context.path !== this.#options.path) return null;
    if (context.method !== 'POST') return ONLY_POST;
    if (context.contentLength !== undefined && Number(context.contentLength) > MAX_BODY) return bodyTooLarge(MAX_BODY);
    const { limiter, rate } = this.#options;
    const outcome = limiter.take('address', limiterId(context.clientAddress), rate, null, context.now);
    if (outcome instanceof Promise) return outcome.then((charged) => this.#admit(context, charged));
    return this.#admit(context, outcome);
  }

  /** Presentations received and not handled yet. */
  get pending(): number {
    return this.#pending.length + (this.#draining ? 1 : 0);
  }

  #admit(context: RequestContext, outcome: LimitOutcome): Denial | Promise<CheckResult> {
    if (outcome.refusedBy !== null) return throttled(retryAfterSeconds(outcome.retryAfterMs));
    if (this.pending >= this.#maxPending) return BUSY;
    return this.#receive(context);
  }

  async #receive(context: RequestContext): Promise<CheckResult> {
    continueIfAwaited(context.res);
    const body = await readBoundedBody(context.req, MAX_BODY);
    if (!Buffer.isBuffer(body)) return body;
    const report = parsePresentedKey(body);
    if (typeof report === 'string') return denial('request_invalid', report);
    // Every key is digested and queued the same way, whatever its shape: nothing before the
    // answer depends on what the key is.
    this.#pending.push({ digest: digestKey(report.key), url: report.url, address: context.clientAddress, requestId: context.requestId });
    context.res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(RECEIVED), 'cache-control': 'no-store', 'x-request-id': context.requestId });
    context.res.end(RECEIVED);
    // After the answer is on its way: a synchronous store (SQLite) would otherwise run first.
    if (!this.#draining) setImmediate(() => void this.#drain());
    return ANSWERED;
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let next = this.#pending.shift(); next !== undefined; next = this.#pending.shift()) await this.#handleWithRetries(next);
    } finally {
      this.#draining = false;
    }
  }

  async #handleWithRetries(presentation: Presentation): Promise<void> {
    const delays = this.#options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#handle(presentation);
        return;
      } catch (error) {
        this.#options.onStoreError(error);
        const delay = delays[attempt];
        if (delay === undefined) {
          this.#options.logger.error({ address: presentation.address, requestId: presentation.requestId, attempts: attempt + 1 }, 'presented key: the key store failed; the report is dropped');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Looks the key up and applies the action to a live key of this store; logs what it did, by key id. */
  async #handle({ digest, url, address, requestId }: Presentation): Promise<void> {
    const { store, action: fallback, tagActions = NO_TAG_ACTIONS, logger } = this.#options;
    const record = await store.getKeyByDigest(digest);
    const action = record === null ? fallback : actionForKey(record, fallback, tagActions, PRESENTATION_ACTIONS);
    // A key already revoked, or already quarantined, is left as it is: a repeated report adds no audit entry.
    if (record === null || record.revokedAt !== null || (action === 'quarantine' && record.quarantinedAt !== null)) {
      logger.info({ address, requestId, known: record !== null }, 'presented key: nothing to do');
      return;
    }
    const by: AuditActor = { actor: 'key-presentation', address };
    const evidence = { url, source: 'presentation' };
    if (action === 'revoke') await store.revokeKey(record.id, REASON, Date.now(), by, evidence);
    else await store.quarantineKey(record.id, REASON, Date.now(), by, evidence);
    logger.warn({ keyId: record.id, action, address, url, requestId }, `presented key: ${action === 'revoke' ? 'revoked' : 'quarantined'}`);
  }
}
