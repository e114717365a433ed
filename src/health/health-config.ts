import { ConfigError } from '../config/config-error.ts';
import type { ConfigFragment } from '../config/config-fragment.ts';
import { duration } from '../config/option-schemas.ts';
import { parseDuration, parseHostPort, type HostPort } from '../http/units.ts';

/** The shortest heartbeat interval: each beat is a write to the shared store. */
const MIN_HEARTBEAT_MS = 100;

export interface HealthSettings {
  health: { listen: HostPort | null; readyWhileStoreUnreachable: boolean; heartbeatInterval: number };
}

/** Where `/healthz` and `/readyz` are served, if anywhere, and how often this node tells the others it is there. */
export const healthConfig: ConfigFragment<HealthSettings> = {
  options: {
    'health.listen': {
      type: ['string', 'integer', 'null'],
      format: 'host-port',
      default: null,
      'x-flag': '--health-listen',
      description: 'Address of the health listener (`GET /healthz`, `GET /readyz`) for load balancers, `HOST:PORT`. Off by default; bind it to an address only the load balancer reaches.',
    },
    'health.readyWhileStoreUnreachable': {
      type: 'boolean',
      default: false,
      description: 'Whether `/readyz` stays 200 (status `degraded`) while the key store cannot be reached and the node still serves the keys it knows (until `changeFeed.staleFor`). Off by default: a node that cannot see new revocations reports not ready within about 2 s, so a load balancer sends traffic to nodes that can. Turn it on when every node shares the store and your load balancer would otherwise be left with none (Kubernetes removes unready pods from a Service).',
    },
    'health.heartbeatInterval': duration('How often this node writes its heartbeat (host, pid, version, health parts) to the store, from its store write thread, so that the dashboard of any node lists every node sharing the store. A node not heard from for 3 intervals is shown as missing; its row is deleted after an hour. At least 100ms.', '5s'),
  },
  read(document, { sourceOf }) {
    const { health } = document as unknown as { health: { listen: string | number | null; readyWhileStoreUnreachable: boolean; heartbeatInterval: unknown } };
    const heartbeatInterval = parseDuration(health.heartbeatInterval) as number;
    if (heartbeatInterval < MIN_HEARTBEAT_MS) {
      const source = sourceOf('health.heartbeatInterval');
      throw new ConfigError([`health.heartbeatInterval${source ? ` (from ${source})` : ''}: expected at least ${MIN_HEARTBEAT_MS}ms, found ${heartbeatInterval}ms`]);
    }
    return { health: { listen: health.listen === null ? null : (parseHostPort(health.listen) as HostPort), readyWhileStoreUnreachable: health.readyWhileStoreUnreachable, heartbeatInterval } };
  },
};
