/**
 * The delegated tokens revoked one by one (issue 22), as one node holds them: the ids (`jti`)
 * of the store's `revoked_tokens` rows, each with its expiry, read again every
 * `changeFeed.pollInterval`. A poll reads the rows revoked since a minute before the newest one
 * it holds (a revocation written late, or by a node whose clock is behind, is still read), so
 * a revocation reaches every node within a poll interval. Ids past their expiry are dropped
 * (the token is refused as expired anyway), so memory holds only live revoked tokens; now and
 * then a node also purges their rows from the store.
 *
 * Fail closed: until the first read succeeds the check waits for it (and refuses with 503 when
 * it fails), and past `changeFeed.staleFor` without a successful read it refuses every token.
 */
import type { AuditActor } from '../../store/audit-log.ts';
import type { RevokedTokenStore } from '../../store/revoked-token-store.ts';
import { HARD_MAX_LIFETIME_SECONDS } from './delegated-token.ts';

/**
 * How long a revocation is kept: the longest any token may live (24 h, whatever
 * `dpop.maxTokenLifetime` is or was when the token was issued) plus 5 minutes for clocks, so a
 * row outlives the token it names without anyone having to know the token's own `exp`.
 */
export const REVOCATION_HOLD_MS = HARD_MAX_LIFETIME_SECONDS * 1000 + 5 * 60_000;
/** A token id as the gateway makes them (`jti`: 16 random bytes, base64url), with room to spare. */
const TOKEN_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface TokenRevocation {
  readonly tokenId: string;
  /** The parent key, or '' when not named. */
  readonly keyId: string;
  readonly expiresAt: number;
  /** False when the token was already revoked (nothing changed). */
  readonly revoked: boolean;
}

/** Whether `value` can be a delegated token's id. */
export function isTokenId(value: unknown): value is string {
  return typeof value === 'string' && TOKEN_ID.test(value);
}

/** Revokes one delegated token by id on every node (the CLI's `tokens revoke` and the admin API's route). */
export async function revokeDelegatedToken(store: Pick<RevokedTokenStore, 'revokeToken'>, request: { tokenId: string; keyId: string | null; reason: string | null }, now: number, by: AuditActor): Promise<TokenRevocation> {
  if (!isTokenId(request.tokenId)) throw new RangeError('A token id is 1 to 128 letters, digits, "-" or "_"');
  const keyId = request.keyId ?? '';
  const expiresAt = now + REVOCATION_HOLD_MS;
  const revoked = await store.revokeToken(request.tokenId, keyId, expiresAt, request.reason, now, by);
  return { tokenId: request.tokenId, keyId, expiresAt, revoked };
}

/** How far back a poll reads before the newest revocation held. */
const POLL_OVERLAP_MS = 60_000;
/** How often expired ids are dropped from memory and their rows purged from the store. */
const SWEEP_INTERVAL_MS = 10 * 60_000;

export interface RevokedTokenListOptions {
  readonly pollIntervalMs: number;
  /** How long the list is trusted without a successful read. */
  readonly staleForMs: number;
  /** Told of a failed read or purge (the ids held stay in use). */
  readonly onError: (error: unknown) => void;
  readonly now?: () => number;
}

export class RevokedTokenList {
  readonly #store: Pick<RevokedTokenStore, 'revokedTokensSince' | 'purgeRevokedTokens'>;
  readonly #options: Required<RevokedTokenListOptions>;
  /** Token id → its expiry. */
  readonly #revoked = new Map<string, number>();
  #newestRevokedAt = 0;
  #lastRead = -Infinity;
  #lastSweep = 0;
  #reading: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(store: Pick<RevokedTokenStore, 'revokedTokensSince' | 'purgeRevokedTokens'>, options: RevokedTokenListOptions) {
    this.#store = store;
    this.#options = { now: Date.now, ...options };
  }

  /** Whether the list has been read at least once. */
  get loaded(): boolean {
    return this.#lastRead !== -Infinity;
  }

  /** Until when the ids held may be trusted: the last successful read plus `staleForMs`. */
  get freshUntil(): number {
    return this.#lastRead + this.#options.staleForMs;
  }

  /** How many revoked, unexpired token ids are held. */
  get size(): number {
    return this.#revoked.size;
  }

  isRevoked(tokenId: string): boolean {
    return this.#revoked.has(tokenId);
  }

  /** Reads the list now, or joins the read under way; rejects when it fails. Polling starts with the first call. */
  refresh(): Promise<void> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = null;
      this.#schedule();
    });
    return this.#reading;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #read(): Promise<void> {
    const now = this.#options.now();
    const rows = await this.#store.revokedTokensSince(Math.max(0, this.#newestRevokedAt - POLL_OVERLAP_MS), now);
    for (const row of rows) {
      this.#revoked.set(row.tokenId, row.expiresAt);
      if (row.revokedAt > this.#newestRevokedAt) this.#newestRevokedAt = row.revokedAt;
    }
    this.#lastRead = now;
    if (now - this.#lastSweep >= SWEEP_INTERVAL_MS) await this.#sweep(now);
  }

  async #sweep(now: number): Promise<void> {
    this.#lastSweep = now;
    for (const [tokenId, expiresAt] of this.#revoked) if (expiresAt <= now) this.#revoked.delete(tokenId);
    try {
      await this.#store.purgeRevokedTokens(now);
    } catch (error) {
      this.#options.onError(error);
    }
  }

  #schedule(): void {
    if (this.#closed || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.refresh().catch(this.#options.onError);
    }, this.#options.pollIntervalMs);
    this.#timer.unref();
  }
}
