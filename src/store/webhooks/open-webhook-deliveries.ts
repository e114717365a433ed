import { isInMemoryLocation, isPostgresLocation } from '../store-location.ts';
import type { WebhookDeliveryStore } from './webhook-deliveries.ts';

/**
 * The delivery tables of the store at `location`, on a connection of their own; the key
 * store has applied the migrations. Null for an in-memory SQLite database, which a second
 * connection would not see.
 */
export async function openWebhookDeliveries(location: string, onIdleError?: (error: Error) => void): Promise<WebhookDeliveryStore | null> {
  if (isPostgresLocation(location)) {
    const { PostgresWebhookDeliveries } = await import('./postgres-webhook-deliveries.ts');
    return new PostgresWebhookDeliveries(location, onIdleError);
  }
  if (isInMemoryLocation(location)) return null;
  const { SqliteWebhookDeliveries } = await import('./sqlite-webhook-deliveries.ts');
  return new SqliteWebhookDeliveries(location);
}
