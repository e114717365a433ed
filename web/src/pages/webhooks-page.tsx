import { useState } from 'preact/hooks';
import { api, type Session, type WebhookDelivery, type WebhookLog } from '../api.ts';
import { useLoad } from '../use-load.ts';
import { errorText, Notice } from '../components/notice.tsx';
import { formatRelative, formatTime } from '../format.ts';

/** The delivery's answer in a few words: the last HTTP status and error, or that none was tried yet. */
function lastAnswer(delivery: WebhookDelivery): string {
  if (delivery.lastAttemptAt === null) return 'not tried yet';
  if (delivery.lastError !== null) return delivery.lastError;
  return delivery.lastStatus === null ? 'no answer' : `answered ${delivery.lastStatus}`;
}

/**
 * Webhooks (`GET /api/webhooks/deliveries`): the endpoints of the config file (read-only) and
 * the delivery log, newest event first, with status, attempts and the last answer; write
 * tokens can send a delivery again (`POST …/redeliver`).
 */
export function WebhooksPage({ session }: { session: Session }) {
  const [log, setLog] = useState<WebhookLog | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  useLoad(() => api<WebhookLog>('GET', '/api/webhooks/deliveries?limit=200'), setLog, (failure) => setError(errorText(failure)), [reload]);

  const redeliver = (delivery: WebhookDelivery) => {
    const id = `${delivery.messageId} ${delivery.endpoint}`;
    setBusy(id);
    api<{ redelivered: number }>('POST', `/api/webhooks/deliveries/${encodeURIComponent(delivery.messageId)}/redeliver?endpoint=${encodeURIComponent(delivery.endpoint)}`).then(
      () => {
        setBusy(null);
        setNotice(`${delivery.eventType} to ${delivery.endpoint} will be sent again.`);
        setReload((count) => count + 1);
      },
      (failure: unknown) => {
        setBusy(null);
        setError(errorText(failure));
      },
    );
  };

  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title" tabIndex={-1}>
        Webhooks
      </h1>
      <p class="muted">Key events posted to the endpoints of the config file (<code>webhooks.endpoints</code>), signed per Standard Webhooks, and every delivery with its attempts.</p>
      {error !== null && <Notice kind="error">{error}</Notice>}
      {notice !== null && <Notice kind="success">{notice}</Notice>}
      {log === null ? (
        <p class="loading">Loading webhooks…</p>
      ) : !log.enabled ? (
        <p class="muted">This gateway sends no webhooks: no endpoint is configured (or the key store is in memory).</p>
      ) : (
        <>
          <h2>Endpoints</h2>
          <ul class="plain-list">
            {log.endpoints.map((endpoint) => (
              <li key={endpoint.url}>
                <span class="mono">{endpoint.url}</span> <span class="muted small">{endpoint.events.join(', ')}</span>
              </li>
            ))}
          </ul>
          <h2>Deliveries</h2>
          {log.items.length === 0 ? (
            <p class="muted">No deliveries yet.</p>
          ) : (
            <table class="table responsive">
              <caption class="visually-hidden">Webhook deliveries, newest event first</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last answer</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {log.items.map((delivery) => (
                  <tr key={`${delivery.messageId} ${delivery.endpoint}`} data-message={delivery.messageId}>
                    <td data-label="Event">
                      {delivery.eventType}
                      <div class="muted mono small">{delivery.messageId}</div>
                      <div class="muted small" title={formatTime(delivery.createdAt)}>
                        {formatRelative(delivery.createdAt)}
                      </div>
                    </td>
                    <td data-label="Endpoint" class="mono small">
                      {delivery.endpoint}
                    </td>
                    <td data-label="Status">
                      <span class={`badge badge-delivery-${delivery.status}`}>{delivery.status}</span>
                      {delivery.nextAttemptAt !== null && <div class="muted small">next {formatRelative(delivery.nextAttemptAt)}</div>}
                    </td>
                    <td data-label="Attempts">{delivery.attempts}</td>
                    <td data-label="Last answer" class="small">
                      {lastAnswer(delivery)}
                      {delivery.lastAttemptAt !== null && <div class="muted small">{formatRelative(delivery.lastAttemptAt)}</div>}
                    </td>
                    <td data-label="Actions">
                      {session.role === 'write' && (
                        <button type="button" class="button" disabled={busy !== null} onClick={() => redeliver(delivery)} aria-label={`Redeliver ${delivery.eventType} ${delivery.messageId} to ${delivery.endpoint}`}>
                          Redeliver
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
