import { useEffect, useState } from 'preact/hooks';
import { api, query, type NodeHealth, type Overview, type OverviewKey } from '../api.ts';
import { ChoiceSelect } from '../components/choice-select.tsx';
import { errorText, Notice } from '../components/notice.tsx';
import { requestLayers, StackedBars } from '../components/stacked-bars.tsx';
import { formatNumber, formatRelative, formatTime, WINDOWS } from '../format.ts';
import { useLive } from '../live.ts';
import { navigate } from '../router.ts';

function percent(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((100 * part) / whole).toFixed(part / whole < 0.1 ? 1 : 0)}%`;
}

function TopKeys({ title, keys, by, empty }: { title: string; keys: OverviewKey[]; by: 'requests' | 'denied'; empty: string }) {
  const id = `top-${by}`;
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {keys.length === 0 ? (
        <p class="muted">{empty}</p>
      ) : (
        <table class="table compact">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col" class="number">
                Requests
              </th>
              <th scope="col" class="number">
                Refused
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id}>
                <td>
                  <a href={`#/keys/${key.id}`}>{key.name}</a>
                  {key.status !== 'active' && <span class="muted small"> · {key.status}</span>}
                </td>
                <td class="number">{formatNumber(key.requests)}</td>
                <td class={`number${key.denied > 0 ? ' text-danger' : ''}`}>{formatNumber(key.denied)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const NOTIFICATIONS: Record<string, string> = { listening: 'woken by LISTEN/NOTIFY', reconnecting: 'LISTEN reconnecting: polling only', 'not-used': 'polls the store' };

const HEALTH_LABELS: Record<NodeHealth['status'], string> = { ok: 'Healthy', degraded: 'Degraded', not_ready: 'Not ready' };

function NodeCard({ node }: { node: NodeHealth }) {
  const redis = node.limits.backend === 'memory' ? 'not used: each node limits in memory' : node.limits.redisReachable ? 'reachable: limits shared by every node' : 'unreachable: this node limits on its own';
  return (
    <section class="card" aria-labelledby="node-title">
      <div class="card-head">
        <h2 id="node-title">This node</h2>
        <span class={`badge badge-health-${node.status}`}>{HEALTH_LABELS[node.status]}</span>
      </div>
      <dl class="settings">
        <div>
          <dt>Store</dt>
          <dd>{node.store.reachable ? 'reachable' : 'unreachable'}{node.store.lastContactAt !== null && <span class="muted"> · read {formatRelative(node.store.lastContactAt)}</span>}</dd>
        </div>
        <div>
          <dt>Change feed</dt>
          <dd>
            at {formatNumber(node.changeFeed.position)}
            {node.changeFeed.lagSeconds !== null && <span class="muted"> · {node.changeFeed.lagSeconds < 1 ? 'caught up' : `${node.changeFeed.lagSeconds.toFixed(0)} s behind`}</span>}
            <span class="muted"> · {NOTIFICATIONS[node.changeFeed.notifications] ?? node.changeFeed.notifications}</span>
          </dd>
        </div>
        <div>
          <dt>Redis</dt>
          <dd>{redis}</dd>
        </div>
      </dl>
      {node.reasons.length > 0 && (
        <ul class="reasons">
          {node.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
      <p class="muted small">Each node serves its own admin listener; the others report there and on their health listeners.</p>
    </section>
  );
}

/** The landing page: traffic and refusals over the period, the keys that stand out, what needs attention soon, and this node's health. */
export function OverviewPage({ params }: { params: URLSearchParams }) {
  const window = params.get('window') ?? '24h';
  const live = useLive();
  const [overview, setOverview] = useState<Overview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let cancelled = false;
    api<Overview>('GET', `/api/overview${query({ window })}`).then(
      (found) => {
        if (cancelled) return;
        setOverview(found);
        setError(null);
      },
      (failure: unknown) => !cancelled && setError(errorText(failure)),
    );
    return () => {
      cancelled = true;
    };
  }, [window, live.version, tick]);
  // Usage arrives in batches: follow it.
  useEffect(() => {
    const timer = setTimeout(() => setTick((count) => count + 1), 15_000);
    return () => clearTimeout(timer);
  }, [overview]);

  const label = WINDOWS.find((choice) => choice.value === window)?.label.toLowerCase() ?? window;
  return (
    <section aria-labelledby="overview-title">
      <div class="page-head">
        <h1 id="overview-title" tabIndex={-1}>
          Overview
        </h1>
        <div class="field inline">
          <ChoiceSelect id="overview-window" label="Period" value={window} choices={WINDOWS} onChange={(value) => navigate(`/overview${query({ window: value })}`)} />
        </div>
      </div>
      {error !== null && <Notice kind="error">{error}</Notice>}
      {overview === null ? (
        <p class="loading">Loading the overview…</p>
      ) : (
        <>
          <dl class="stats">
            <div>
              <dt>Requests</dt>
              <dd>{formatNumber(overview.totals.requests)}</dd>
            </div>
            <div>
              <dt>Refused</dt>
              <dd class={overview.totals.denied > 0 ? 'text-danger' : ''}>
                {formatNumber(overview.totals.denied)} <span class="stat-note">{percent(overview.totals.denied, overview.totals.requests)}</span>
              </dd>
            </div>
            <div>
              <dt>Keys in use</dt>
              <dd>
                {formatNumber(overview.totals.keysWithTraffic)} <span class="stat-note">of {formatNumber(overview.keys.active + overview.keys.rotating)} active</span>
              </dd>
            </div>
            <div>
              <dt>Keys</dt>
              <dd>
                <a href="#/keys">{formatNumber(overview.keys.total)}</a> <span class="stat-note">{formatNumber(overview.keys.revoked)} revoked</span>
              </dd>
            </div>
          </dl>

          <section class="card" aria-labelledby="traffic-title">
            <div class="card-head">
              <h2 id="traffic-title">Requests and refusals</h2>
            </div>
            <StackedBars
              times={overview.points.map((point) => Date.parse(point.t))}
              layers={requestLayers(overview.points, overview.codes.map((code) => code.code))}
              caption={`${formatNumber(overview.totals.requests)} requests, ${formatNumber(overview.totals.denied)} refused, ${label}${overview.codes.length > 0 ? `; refusals by code: ${overview.codes.map((code) => `${code.code} ${formatNumber(code.count)}`).join(', ')}` : ''}.`}
              label={`Requests per ${overview.step >= 3600 ? 'hour' : `${overview.step / 60} minutes`}, ${label}`}
            />
          </section>

          <div class="overview-grid">
            <TopKeys title="Top keys by traffic" keys={overview.topByRequests} by="requests" empty={`No traffic ${label}.`} />
            <TopKeys title="Top keys by refusals" keys={overview.topByDenials} by="denied" empty={`No refusals ${label}.`} />
            <section class="card" aria-labelledby="expiring-title">
              <h2 id="expiring-title">Expiring within 14 days</h2>
              {overview.expiringSoon.length === 0 ? (
                <p class="muted">No key expires soon.</p>
              ) : (
                <ul class="plain-list">
                  {overview.expiringSoon.map((key) => (
                    <li key={key.id}>
                      <a href={`#/keys/${key.id}`}>{key.name}</a> <span class="muted" title={formatTime(key.expiresAt)}>{formatRelative(key.expiresAt)}</span>
                      {key.status === 'rotating' && <span class="muted small"> · rotating</span>}
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section class="card" aria-labelledby="revocations-title">
              <h2 id="revocations-title">Recent revocations</h2>
              {overview.recentRevocations.length === 0 ? (
                <p class="muted">No key has been revoked.</p>
              ) : (
                <ul class="plain-list">
                  {overview.recentRevocations.map((key) => (
                    <li key={key.id}>
                      <a href={`#/keys/${key.id}`}>{key.name}</a> <span class="muted" title={formatTime(key.revokedAt)}>{formatRelative(key.revokedAt)}</span>
                      {key.revokedReason !== null && <div class="reason small">“{key.revokedReason}”</div>}
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </div>
          <NodeCard node={overview.node} />
        </>
      )}
    </section>
  );
}
