import type { ConfigFragment } from '../config/config-fragment.ts';
import { parseHostPort, type HostPort } from '../http/units.ts';

export interface HealthSettings {
  health: { listen: HostPort | null };
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
  },
  read(document) {
    const { health } = document as unknown as { health: { listen: string | number | null } };
    return { health: { listen: health.listen === null ? null : (parseHostPort(health.listen) as HostPort) } };
  },
};
