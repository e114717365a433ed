import { expiringMessageId, type AuditedChange, type ExpiringKey, type NewDelivery } from '../store/webhooks/webhook-deliveries.ts';

/** The events an endpoint can subscribe to. */
export const WEBHOOK_EVENTS = ['key.leaked', 'key.quarantined', 'key.released', 'key.revoked', 'key.anomaly', 'key.expiring'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The audit actors that act on a leak report: a secret-scanning alert, a key presented by its finder. */
const LEAK_REPORTERS = new Set(['secret-scanning', 'key-presentation']);

/** An endpoint as the dispatcher knows it. */
export interface EventSubscriber {
  url: string;
  events: ReadonlySet<WebhookEvent>;
}

/**
 * The events an audit entry stands for: a change to a key of the same name (`key.revoked`,
 * `key.quarantined`, `key.released`, `key.anomaly`), and `key.leaked` besides, when a leak
 * report made the change. Other entries (creations, edits, admin tokens) are no event.
 */
function eventsOf(entry: AuditedChange): WebhookEvent[] {
  const events: WebhookEvent[] = [];
  if (LEAK_REPORTERS.has(entry.actor) && (entry.action === 'key.quarantined' || entry.action === 'key.revoked')) events.push('key.leaked');
  if (entry.action === 'key.revoked' || entry.action === 'key.quarantined' || entry.action === 'key.released' || entry.action === 'key.anomaly') events.push(entry.action);
  return events;
}

/**
 * The body of an event, in the Standard Webhooks shape `{type, timestamp, data}`: the key's
 * id, who made the change and from where, why, and the entry's details (a leak report's URL
 * and source, an anomaly's evidence). Never a key: the audit log holds none.
 */
function eventPayload(type: WebhookEvent, entry: AuditedChange): string {
  let details: unknown;
  try {
    details = JSON.parse(entry.details);
  } catch {
    details = {};
  }
  return JSON.stringify({
    type,
    timestamp: new Date(entry.at).toISOString(),
    data: { key_id: entry.target, action: entry.action, reason: entry.reason, actor: entry.actor, address: entry.address, audit_seq: entry.seq, details },
  });
}

/** One delivery per event of the entry and endpoint that subscribes to it. The message id is the same for every endpoint. */
export function deliveriesOf(entry: AuditedChange, subscribers: readonly EventSubscriber[]): NewDelivery[] {
  const deliveries: NewDelivery[] = [];
  for (const type of eventsOf(entry)) {
    const payload = eventPayload(type, entry);
    const messageId = `msg_${entry.seq}_${type.replace('.', '_')}`;
    for (const subscriber of subscribers) {
      if (subscriber.events.has(type)) deliveries.push({ messageId, endpoint: subscriber.url, eventType: type, payload, auditSeq: entry.seq });
    }
  }
  return deliveries;
}

/**
 * One `key.expiring` delivery per key and subscribed endpoint. The message id names the key and
 * its expiry (`expiringMessageId`), so each node that finds the same key writes the same row
 * (sent once), and a key whose expiry changes gets a new event. `auditSeq` places it in the
 * delivery log beside the audit entries read at the time.
 */
export function expiringDeliveries(keys: readonly ExpiringKey[], subscribers: readonly EventSubscriber[], auditSeq: number, now: number): NewDelivery[] {
  const deliveries: NewDelivery[] = [];
  const listening = subscribers.filter((subscriber) => subscriber.events.has('key.expiring'));
  for (const key of keys) {
    const payload = JSON.stringify({
      type: 'key.expiring',
      timestamp: new Date(now).toISOString(),
      data: { key_id: key.id, name: key.name, expires_at: new Date(key.expiresAt).toISOString(), action: 'key.expiring' },
    });
    const messageId = expiringMessageId(key.id, key.expiresAt);
    for (const subscriber of listening) deliveries.push({ messageId, endpoint: subscriber.url, eventType: 'key.expiring', payload, auditSeq });
  }
  return deliveries;
}
