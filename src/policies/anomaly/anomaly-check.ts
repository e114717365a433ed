import type { Denial } from '../../http/error-catalogue.ts';
import type { KeyRecord } from '../../keys/key-record.ts';
import type { DetectedAnomaly } from '../../limits/anomaly/key-profile.ts';
import type { KeyProfiles } from '../../limits/anomaly/key-profiles.ts';
import type { Check, CheckResult, RequestContext } from '../request-context.ts';
import { actionForKey, type AnomalyPolicySettings } from './anomaly-config.ts';
import type { AnomalyRecorder } from './anomaly-recorder.ts';

export interface AnomalyCheckOptions {
  profiles: KeyProfiles;
  recorder: Pick<AnomalyRecorder, 'report'>;
  actions: Pick<AnomalyPolicySettings['anomaly'], 'action' | 'tagActions'>;
}

/** A refusal of the client's doing (4xx), as opposed to the gateway's or the upstream's trouble (5xx). */
function isClientError(status: number): boolean {
  return status >= 400 && status < 500;
}

/** A key whose requests are refused anyway (revoked or quarantined) teaches its profile nothing. */
function isLive(record: KeyRecord): boolean {
  return record.revokedAt === null && record.quarantinedAt === null;
}

/**
 * The last check (stage 11, record): it never refuses. Each request with a known, live key is
 * observed once: here when every check passed it, in `onDenial` when a check refused it after
 * the key was matched (with its 4xx counted); an upstream 4xx answer is counted in
 * `onUpstreamResponse`. A finding is handed to the recorder, which writes it off the request
 * path; its action (the key's own, else by its tags) reaches this and every node through the store and the
 * change feed (a quarantined key gets 403 `key_quarantined` from key-policy, stage 7).
 */
export class AnomalyCheck implements Check {
  readonly name = 'anomaly';
  readonly #profiles: KeyProfiles;
  readonly #recorder: Pick<AnomalyRecorder, 'report'>;
  readonly #actions: AnomalyCheckOptions['actions'];

  constructor(options: AnomalyCheckOptions) {
    this.#profiles = options.profiles;
    this.#recorder = options.recorder;
    this.#actions = options.actions;
  }

  run(context: RequestContext): CheckResult {
    const key = context.key;
    if (key !== null && isLive(key.record)) this.#report(key.record, this.#profiles.observeRequest(key.record.id, context.client.ip, context.clientAddress, context.now, false, key.record.updatedAt));
    return null;
  }

  onDenial(context: RequestContext, denial: Denial): void {
    const key = context.presentedKey ?? context.key;
    if (key === null || !isLive(key.record)) return;
    // A request a check answered itself (a token issued to the key) is told here too, after its answer went: a request, not a refusal.
    const refused = !context.res.writableEnded && isClientError(denial.status);
    this.#report(key.record, this.#profiles.observeRequest(key.record.id, context.client.ip, context.clientAddress, context.now, refused, key.record.updatedAt));
  }

  onUpstreamResponse(context: RequestContext, headers: string[], status: number): string[] {
    const key = context.key;
    if (key !== null && isClientError(status) && isLive(key.record)) this.#report(key.record, this.#profiles.observeDenial(key.record.id, context.now, key.record.updatedAt));
    return headers;
  }

  #report(record: KeyRecord, detected: DetectedAnomaly | null): void {
    if (detected === null) return;
    this.#recorder.report({ ...detected, action: actionForKey(record, this.#actions) });
  }
}
