import { createHmac } from 'node:crypto';

/**
 * Signing per the Standard Webhooks specification
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
 * every request carries `webhook-id` (the message's id, the same on every retry, so a receiver
 * can drop duplicates), `webhook-timestamp` (seconds since the epoch, of this attempt) and
 * `webhook-signature`: `v1,` and the base64 HMAC-SHA256, keyed with the secret's bytes, of
 * `<id>.<timestamp>.<body>`.
 */

/** A secret is `whsec_` and the base64 of its bytes; the spec asks for 24 to 64 bytes. */
const SECRET_PATTERN = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

export class WebhookSecretError extends Error {
  override name = 'WebhookSecretError';
}

/**
 * The key bytes of a `whsec_…` secret; throws WebhookSecretError saying what is wrong (never
 * the secret itself).
 *
 * @example webhookSecretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')
 */
export function webhookSecretKey(secret: string): Buffer {
  const match = SECRET_PATTERN.exec(secret.trim());
  if (match === null) throw new WebhookSecretError('expected whsec_ followed by base64');
  const key = Buffer.from(match[1] as string, 'base64');
  if (key.length < 24 || key.length > 64) throw new WebhookSecretError(`expected a secret of 24 to 64 bytes, found ${key.length}`);
  return key;
}

/** The headers of one attempt to send `body` as message `id` at `timestampSeconds`. */
export function signedWebhookHeaders(key: Buffer, id: string, timestampSeconds: number, body: string): Record<string, string> {
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}
