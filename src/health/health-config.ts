import type { ConfigFragment } from '../config/config-fragment.ts';
import { parseHostPort, type HostPort } from '../http/units.ts';

export interface HealthSettings {
  health: { listen: HostPort | null; readyWhileStoreUnreachable: boolean };
}

/** Where `/healthz` and `/readyz` are served, if anywhere. */
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
  },
  read(document) {
    const { health } = document as unknown as { health: { listen: string | number | null; readyWhileStoreUnreachable: boolean } };
    return { health: { listen: health.listen === null ? null : (parseHostPort(health.listen) as HostPort), readyWhileStoreUnreachable: health.readyWhileStoreUnreachable } };
  },
};
