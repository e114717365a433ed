import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { currentConnection, onConnectionChange, type Connection } from './api.ts';

interface KeyChange {
  seq: number;
  keyId: string;
  kind: 'created' | 'revoked' | 'rotated' | 'updated';
  at: number;
}

export interface LiveState {
  /** Bumped on every key change anywhere (this dashboard, another one, the CLI, another node), and when the admin API answers again after an outage. */
  version: number;
  last: KeyChange | null;
  connected: boolean;
  connection: Connection;
}

export const LiveContext = createContext<LiveState>({ version: 0, last: null, connected: false, connection: currentConnection() });

export function useLive(): LiveState {
  return useContext(LiveContext);
}

/** Follows the admin API's server-sent events while logged in; EventSource reconnects by itself. */
export function useKeyEvents(enabled: boolean): LiveState {
  const [state, setState] = useState<LiveState>({ version: 0, last: null, connected: false, connection: currentConnection() });
  useEffect(
    () =>
      onConnectionChange((connection) =>
        setState((previous) => ({ ...previous, connection, version: connection.returns !== previous.connection.returns ? previous.version + 1 : previous.version })),
      ),
    [],
  );
  useEffect(() => {
    if (!enabled) return;
    const source = new EventSource('/api/events');
    source.onopen = () => setState((previous) => ({ ...previous, connected: true }));
    source.onerror = () => setState((previous) => ({ ...previous, connected: false }));
    source.addEventListener('key', (event) => {
      const change = JSON.parse((event as MessageEvent<string>).data) as KeyChange;
      setState((previous) => ({ ...previous, version: previous.version + 1, last: change, connected: true }));
    });
    return () => source.close();
  }, [enabled]);
  return state;
}
