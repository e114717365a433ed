import type { Logger } from 'pino';
import { denial } from '../../http/error-catalogue.ts';
import { continueIfAwaited } from '../../http/expect-continue.ts';
import { bodyTooLarge, readBoundedBody } from '../../http/request-body.ts';
import { digestKey } from '../../keys/key-digest.ts';
import { actionForKey } from '../../keys/tag-actions.ts';
import type { AuditActor } from '../../store/audit-log.ts';
import type { KeyStore } from '../../store/key-store.ts';
import { ANSWERED, type Check, type CheckResult, type RequestContext } from '../request-context.ts';
import { parseAlertPayload, type ReportedToken, type TokenVerdict } from './alert-payload.ts';
import { isSignedAlert, type AlertPublicKeys } from './alert-public-keys.ts';

/** What a reported key gets: held until an operator decides, or refused for good. */
export type LeakAlertAction = 'quarantine' | 'revoke';
/** Weakest first: a key whose tags name both gets the last. */
export const LEAK_ALERT_ACTIONS: readonly LeakAlertAction[] = ['quarantine', 'revoke'];

/** The part of the store an alert reads and writes. */
export type AlertedKeyStore = Pick<KeyStore, 'getKeyByDigest' | 'quarantineKey' | 'revokeKey'>;

export interface LeakAlertOptions {
  /** The exact canonical path alerts are posted to. */
  path: string;
  publicKeys: AlertPublicKeys;
  /** The action of a key with no tag in `tagActions`. */
  action: LeakAlertAction;
  /** Tag → action; a key with several such tags gets the strongest. */
  tagActions?: ReadonlyMap<string, LeakAlertAction>;
  store: AlertedKeyStore;
  logger: Logger;
  onStoreError(error: unknown): void;
}

/**
 * GitHub sends a few tokens per alert, each entry some 200 bytes; 64 KiB is hundreds of them,
 * and an unauthenticated caller can make the gateway hold no more than that before the
 * signature is checked.
 */
const MAX_ALERT_BODY = 64 * 1024;

const SIGNATURE_INVALID = denial('alert_signature_invalid');
const ONLY_POST = denial('method_not_allowed', 'Secret-scanning alerts are sent with POST.', [['allow', 'POST']]);
const STORE_UNAVAILABLE = denial('store_unavailable');
const REASON = 'reported leaked by secret scanning';
const NO_TAG_ACTIONS: ReadonlyMap<string, LeakAlertAction> = new Map();

/**
 * Alerts already answered, by signature. GitHub's signature covers the body only (no time, no
 * nonce), so a captured alert could be posted again to re-quarantine a key an operator has
 * released; a repeat within a day gets the first answer and changes nothing. (GitHub resends an
 * alert it got no answer to: that repeat is answered the same way.)
 */
const REPLAY_WINDOW_MS = 24 * 3_600_000;
const MAX_REMEMBERED = 10_000;

/**
 * Stage 5, before CORS, route matching and key auth, when `leaks.alerts.enabled`: answers
 * secret-scanning alerts (GitHub's partner programme) on their one path; every other request
 * passes on untouched, at the cost of one string comparison.
 *
 * An alert is believed only when its raw body carries a valid signature of a configured
 * public key; anything else is 401 `alert_signature_invalid` and changes nothing (the headers
 * are checked before the body is read). Each reported token is digested and looked up like a
 * presented key; a key of this store is labelled `true_positive` (whatever its state) and, unless
 * already revoked, gets the configured action (by its tags, else the default), with the report's URL and source as evidence in
 * the audit entry. Tokens are never logged.
 */
export class LeakAlertCheck implements Check {
  readonly name = 'leak-alerts';
  readonly #options: LeakAlertOptions;
  readonly #answered = new Map<string, { answer: string; at: number }>();

  constructor(options: LeakAlertOptions) {
    this.#options = options;
  }

  run(context: RequestContext): CheckResult | Promise<CheckResult> {
    if (context.path !== this.#options.path) return null;
    const { req } = context;
    // context.method: the method the gateway judges (after method-override handling), as every other check.
    if (context.method !== 'POST') return ONLY_POST;
    const identifier = req.headers['github-public-key-identifier'];
    const signature = req.headers['github-public-key-signature'];
    if (typeof identifier !== 'string' || typeof signature !== 'string' || !this.#options.publicKeys.has(identifier)) return SIGNATURE_INVALID;
    if (context.contentLength !== undefined && Number(context.contentLength) > MAX_ALERT_BODY) return bodyTooLarge(MAX_ALERT_BODY);
    return this.#answer(context, identifier, signature);
  }

  async #answer(context: RequestContext, identifier: string, signature: string): Promise<CheckResult> {
    continueIfAwaited(context.res);
    const body = await readBoundedBody(context.req, MAX_ALERT_BODY);
    if (!Buffer.isBuffer(body)) return body;
    if (!isSignedAlert(this.#options.publicKeys, identifier, signature, body)) return SIGNATURE_INVALID;
    const earlier = this.#answered.get(signature);
    if (earlier !== undefined && Date.now() - earlier.at < REPLAY_WINDOW_MS) return this.#send(context, earlier.answer);
    const tokens = parseAlertPayload(body);
    if (typeof tokens === 'string') return denial('request_invalid', tokens);
    let verdicts: TokenVerdict[];
    try {
      verdicts = await this.#judge(tokens, context.clientAddress);
    } catch (error) {
      // 503, so the sender retries the alert later; keys handled before the failure stay handled.
      this.#options.onStoreError(error);
      return STORE_UNAVAILABLE;
    }
    const answer = JSON.stringify(verdicts);
    this.#remember(signature, answer);
    return this.#send(context, answer);
  }

  #send(context: RequestContext, answer: string): CheckResult {
    context.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer), 'cache-control': 'no-store', 'x-request-id': context.requestId });
    context.res.end(answer);
    return ANSWERED;
  }

  #remember(signature: string, answer: string): void {
    // The oldest is forgotten first (a Map keeps insertion order).
    if (this.#answered.size >= MAX_REMEMBERED) this.#answered.delete(this.#answered.keys().next().value as string);
    this.#answered.set(signature, { answer, at: Date.now() });
  }

  /** Labels every token and applies the action to each live key; logs what it did, by key id. */
  async #judge(tokens: readonly ReportedToken[], address: string): Promise<TokenVerdict[]> {
    const { store, action: fallback, tagActions = NO_TAG_ACTIONS, logger } = this.#options;
    const verdicts: TokenVerdict[] = [];
    const acted: string[] = [];
    const revoked: string[] = [];
    const by: AuditActor = { actor: 'secret-scanning', address };
    for (const reported of tokens) {
      const record = await store.getKeyByDigest(digestKey(reported.token));
      verdicts.push({ token_raw: reported.token, token_type: reported.type, label: record === null ? 'false_positive' : 'true_positive' });
      if (record === null) continue;
      const action = actionForKey(record, fallback, tagActions, LEAK_ALERT_ACTIONS);
      // A key already revoked, or already quarantined, is left as it is: a repeated alert adds no audit entry.
      if (record.revokedAt !== null || (action === 'quarantine' && record.quarantinedAt !== null) || acted.includes(record.id)) continue;
      const evidence = { url: reported.url, source: reported.source };
      if (action === 'revoke') await store.revokeKey(record.id, REASON, Date.now(), by, evidence);
      else await store.quarantineKey(record.id, REASON, Date.now(), by, evidence);
      acted.push(record.id);
      if (action === 'revoke') revoked.push(record.id);
    }
    const known = verdicts.filter((verdict) => verdict.label === 'true_positive').length;
    logger.warn({ reported: tokens.length, known, keys: acted, revoked, address }, `secret-scanning alert: ${acted.length - revoked.length} key(s) quarantined, ${revoked.length} revoked`);
    return verdicts;
  }
}
