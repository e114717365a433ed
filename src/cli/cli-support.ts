/** Exit statuses of every command: the contract scripts rely on. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * The version of every `--json` output's shape (docs/cli-json/): each JSON object a command
 * prints starts with `"schemaVersion": 1`. Adding a field keeps the version; renaming,
 * removing or retyping one bumps it.
 */
export const JSON_SCHEMA_VERSION = 1;

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

/** A JSON array on stdout (list outputs: an array, as the interface has always printed them). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One JSON object on stdout, `schemaVersion` first. */
export function printJsonObject(value: Record<string, unknown>): void {
  // First in the object, and never overwritten by a field of the value.
  printJson(Object.fromEntries([['schemaVersion', JSON_SCHEMA_VERSION], ...Object.entries(value).filter(([name]) => name !== 'schemaVersion')]));
}

/** Every message of the CLI to a person on stderr starts so; errors with `portcullis: error: `. */
export const MESSAGE_PREFIX = 'portcullis: ';

/** A line for a person on stderr (what store a command used, progress): never on stdout, which scripts read. */
export function note(message: string): void {
  process.stderr.write(`${MESSAGE_PREFIX}${message}\n`);
}

/** An error as the CLI prints it: `portcullis: error: …`, continuation lines as they are. */
export function errorText(message: string): string {
  return `${MESSAGE_PREFIX}error: ${message}\n`;
}

export function formatTime(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z');
}
