import { useEffect, useState } from 'preact/hooks';
import { api, query, type ClusterNode, type NodeHealth, type Overview, type OverviewKey } from '../api.ts';
import { useLoad } from '../use-load.ts';
import { ChoiceSelect } from '../components/choice-select.tsx';
import { errorText, Notice } from '../components/notice.tsx';
import { requestLayers, StackedBars } from '../components/stacked-bars.tsx';
import { ApiUsageCard } from '../components/api-usage-card.tsx';
import { WouldDenyCard } from '../components/would-deny-card.tsx';
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

function storeText(health: Partial<NodeHealth>): string {
  if (health.store === undefined) return 'unknown';
  return health.store.reachable ? 'reachable' : 'unreachable';
}

function changeFeedText(health: Partial<NodeHealth>): string {
  const feed = health.changeFeed;
  if (feed === undefined) return 'unknown';
  const lag = feed.lagSeconds === null || feed.lagSeconds === undefined ? '' : feed.lagSeconds < 1 ? ', caught up' : `, ${feed.lagSeconds.toFixed(0)} s behind`;
  return `at ${formatNumber(feed.position ?? feed.lastSeq ?? 0)}${lag}; ${NOTIFICATIONS[feed.notifications] ?? feed.notifications}`;
}

function redisText(health: Partial<NodeHealth>): string {
  if (health.limits === undefined) return 'unknown';
  if (health.limits.backend === 'memory') return 'not used: limits in memory';
  return health.limits.redisReachable ? 'reachable: limits shared' : 'unreachable: limits on this node alone';
}

function NodeRow({ node }: { node: ClusterNode }) {
  const { health } = node;
  const status = node.state === 'missing' ? 'missing' : health.status ?? 'not_ready';
  const label = status === 'missing' ? 'Missing' : HEALTH_LABELS[status] ?? status;
  return (
    <tr class={node.state === 'missing' ? 'node-missing' : undefined} title={node.state === 'missing' ? `Missing: store, change feed and Redis as it last reported them, ${formatTime(node.lastSeen)}` : undefined}>
      <td data-label="Node">
        {node.hostName}
        <span class="muted small"> · pid {node.pid} · {node.version}</span>
        {node.self && <span class="muted small"> · this node</span>}
      </td>
      <td data-label="Status">
        <span class={`badge badge-health-${status}`}>{label}</span>
      </td>
      <td data-label="Store">{storeText(health)}</td>
      <td data-label="Change feed">{changeFeedText(health)}</td>
      <td data-label="Redis">{redisText(health)}</td>
      <td data-label="Last seen">
        <span title={formatTime(node.lastSeen)}>{node.self ? 'now' : formatRelative(node.lastSeen)}</span>
      </td>
    </tr>
  );
}

/** Every node sharing the store, from their heartbeats; a missing one shows what it last reported. */
function NodesCard({ nodes }: { nodes: ClusterNode[] }) {
  const missing = nodes.filter((node) => node.state === 'missing').length;
  const reasons = nodes.filter((node) => node.state === 'live').flatMap((node) => (node.health.reasons ?? []).map((reason) => ({ node, reason })));
  return (
    <section class="card" aria-labelledby="nodes-title">
      <div class="card-head">
        <h2 id="nodes-title">Nodes</h2>
        <span class="muted">
          {formatNumber(nodes.length)} {nodes.length === 1 ? 'node' : 'nodes'}
          {missing > 0 && `, ${formatNumber(missing)} missing`}
        </span>
      </div>
      <table class="table compact responsive nodes-table">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Status</th>
            <th scope="col">Store</th>
            <th scope="col">Change feed</th>
            <th scope="col">Redis</th>
            <th scope="col">Last seen</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((node) => (
            <NodeRow key={node.id} node={node} />
          ))}
        </tbody>
      </table>
      {reasons.length > 0 && (
        <ul class="reasons">
          {reasons.map(({ node, reason }) => (
            <li key={`${node.id} ${reason}`}>
              {nodes.length > 1 && <strong>{node.hostName} (pid {node.pid}): </strong>}
              {reason}
            </li>
          ))}
        </ul>
      )}
      <p class="muted small">Each node writes a heartbeat to the store; one not heard from for 3 of its intervals is missing (stopped, or cut off from the store).</p>
    </section>
  );
}

/** The landing page: traffic and refusals over the period, the keys that stand out, what needs attention soon, and every node's health. */
export function OverviewPage({ params }: { params: URLSearchParams }) {
  const window = params.get('window') ?? '24h';
  const live = useLive();
  const [overview, setOverview] = useState<Overview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useLoad(
    () => api<Overview>('GET', `/api/overview${query({ window })}`),
    (found) => {
      setOverview(found);
      setError(null);
    },
    (failure) => setError(errorText(failure)),
    [window, live.version, tick],
  );
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

          <ApiUsageCard window={window} label={label} refresh={overview} />

          <WouldDenyCard window={window} label={label} refresh={overview} />

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
          <NodesCard nodes={overview.nodes} />
        </>
      )}
    </section>
  );
}
