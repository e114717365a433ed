import type { FastifyInstance } from 'fastify';
import type { Delivery, DeliveryStatus, WebhookDeliveryStore } from '../store/webhooks/webhook-deliveries.ts';
import type { AdminRoute } from './admin-openapi.ts';
import { AdminProblem } from './admin-problems.ts';
import { registerOperation } from './admin-routes.ts';

const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());

function deliveryView(delivery: Delivery) {
  return {
    ...delivery,
    createdAt: iso(delivery.createdAt),
    nextAttemptAt: delivery.status === 'pending' ? iso(delivery.nextAttemptAt) : null,
    lastAttemptAt: iso(delivery.lastAttemptAt),
    deliveredAt: iso(delivery.deliveredAt),
  };
}

/** A configured endpoint as the admin API shows it: its URL and events, never its secret. */
export interface WebhookEndpointView {
  url: string;
  events: Iterable<string>;
}

/**
 * The webhook delivery log (read role) and redelivery (write role). The log names this node's
 * configured endpoints (URL and events, never the secret). Without webhooks on this node: the
 * log says `enabled: false` with no endpoints and no items, and nothing can be redelivered (404).
 */
export function registerWebhookRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, deliveries: WebhookDeliveryStore | null, endpoints: readonly WebhookEndpointView[] = []): void {
  const endpointViews = endpoints.map((endpoint) => ({ url: endpoint.url, events: [...endpoint.events] }));
  registerOperation(app, routes, 'listWebhookDeliveries', async (request) => {
    if (deliveries === null) return { enabled: false, endpoints: [], items: [] };
    const query = request.query as { status?: DeliveryStatus; before?: number; limit: number };
    const items = await deliveries.listDeliveries({ ...(query.status ? { status: query.status } : {}), ...(query.before ? { beforeSeq: query.before } : {}), limit: query.limit });
    return { enabled: true, endpoints: endpointViews, items: items.map(deliveryView) };
  });
  registerOperation(app, routes, 'redeliverWebhook', async (request) => {
    const { messageId } = request.params as { messageId: string };
    const { endpoint } = request.query as { endpoint?: string };
    const redelivered = deliveries === null ? 0 : await deliveries.redeliver(messageId, endpoint ?? null, Date.now());
    if (redelivered === 0) throw new AdminProblem('not_found', `No webhook delivery of message ${messageId}${endpoint === undefined ? '' : ' to that endpoint'} on this node's store.`);
    return { redelivered };
  });
}
