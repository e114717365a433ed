/** At most this many tokens are remembered (the oldest use is forgotten first). */
const MAX_TOKENS = 10_000;

export interface TokenUse {
  at: number;
  address: string;
}

/**
 * When each admin token was last used on this node, and from where. Kept in memory: the
 * store records who changed what (the audit log), not every read, so a restart forgets, and
 * another node's listener knows its own uses only.
 */
export class AdminTokenActivity {
  readonly #uses = new Map<string, TokenUse>();

  record(tokenId: string, use: TokenUse): void {
    this.#uses.delete(tokenId);
    this.#uses.set(tokenId, use);
    if (this.#uses.size > MAX_TOKENS) this.#uses.delete(this.#uses.keys().next().value as string);
  }

  lastUse(tokenId: string): TokenUse | null {
    return this.#uses.get(tokenId) ?? null;
  }
}
