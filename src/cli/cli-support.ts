/** Exit statuses of every command: the contract scripts rely on. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A mistake in how a command was called: printed without a stack, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface StoreFlags {
  config?: string;
  store?: string;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function formatTime(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z');
}
