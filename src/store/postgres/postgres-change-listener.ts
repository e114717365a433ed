import pg from 'pg';
import { connectionOptions, currentSchemaOf } from './postgres-connection.ts';
import { keyEventsChannel } from './postgres-event-log.ts';

const firstRetryMs = 250;
const maxRetryMs = 5000;

/**
 * A dedicated connection that LISTENs for committed key events and calls `onChange`, so a
 * follower reads the log at once instead of at its next poll. It is only a wake-up: the
 * follower still reads `eventsSince(lastSeq)`, and keeps polling, so a notification lost
 * while this connection was down costs at most one poll interval.
 *
 * When the connection drops it reconnects with backoff (250 ms doubling to 5 s) and calls
 * `onChange` once it is back, because events may have been committed meanwhile.
 * Notifications for other schemas of the same database are ignored.
 */
export class PostgresChangeListener {
  readonly #url: string;
  readonly #onChange: () => void;
  readonly #onError: (error: Error) => void;
  #client: pg.Client | null = null;
  #schema: string | null = null;
  #stopped = false;
  #listening = false;
  #retryMs = firstRetryMs;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(url: string, onChange: () => void, onError: (error: Error) => void) {
    this.#url = url;
    this.#onChange = onChange;
    this.#onError = onError;
  }

  /** True while the LISTEN connection is up. */
  get listening(): boolean {
    return this.#listening;
  }

  /** Connects once; a failure here is thrown (the store is unreachable at start). */
  async start(): Promise<void> {
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#listening = false;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = null;
    if (client !== null) await client.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(connectionOptions(this.#url));
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('notification connection closed')));
    client.on('notification', (message) => {
      if (message.channel === keyEventsChannel && message.payload === this.#schema) this.#onChange();
    });
    try {
      await client.connect();
      this.#schema = await currentSchemaOf(client);
      await client.query(`LISTEN ${keyEventsChannel}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw error;
    }
    if (this.#stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#listening = true;
    this.#retryMs = firstRetryMs;
  }

  #lost(client: pg.Client, error: Error): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.#listening = false;
    client.end().catch(() => {});
    if (this.#stopped) return;
    this.#onError(error);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    this.#retryTimer = setTimeout(() => {
      if (this.#stopped) return;
      this.#connect().then(
        () => {
          // Events may have been committed while no one was listening: read the log now.
          if (!this.#stopped) this.#onChange();
        },
        () => {
          this.#retryMs = Math.min(this.#retryMs * 2, maxRetryMs);
          if (!this.#stopped) this.#scheduleReconnect();
        },
      );
    }, this.#retryMs);
    this.#retryTimer.unref();
  }
}
