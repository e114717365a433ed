import { useEffect, useState } from 'preact/hooks';
import { probeNow, type Connection } from '../api.ts';

/** Shown while the admin API cannot be reached (the gateway is down or restarting): what happened, and when the next try is. */
export function OfflineNotice({ connection }: { connection: Connection }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const seconds = connection.retryAt === null ? 0 : Math.max(0, Math.ceil((connection.retryAt - now) / 1000));
  return (
    <div class="offline" role="status">
      <div>
        <strong>The gateway cannot be reached.</strong> Its admin API at <span class="mono">{location.host}</span> did not answer: it may be stopped or restarting. What is shown may be out of date; nothing is lost.
      </div>
      <div class="offline-retry">
        <span class="muted">{seconds > 0 ? `Trying again in ${seconds} s…` : 'Trying again…'}</span>
        <button type="button" class="button" onClick={probeNow}>
          Retry now
        </button>
      </div>
    </div>
  );
}
