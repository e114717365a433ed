import { STORE_WRITE_METHODS, type StoreWrites } from '../usage-writes.ts';

/**
 * The messages between the request thread and the store write thread. Each request names one
 * `StoreWrites` method and carries its one argument (a whole batch); each reply carries the
 * request's id and the method's result, or the error it threw. `close` ends the thread's
 * store connection; the thread answers it once the connection is closed.
 */
export type WriteMethod = keyof StoreWrites;

export interface WriteRequest {
  readonly id: number;
  readonly method: WriteMethod | 'close';
  readonly argument: unknown;
}

export type WriteReply =
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number; readonly error: SentError }
  /** An error on an idle connection of the thread's pool (PostgreSQL), which no request waits for. */
  | { readonly id: null; readonly connectionError: SentError };

/**
 * An error as it crosses the thread boundary. Structured clone keeps an error's message and
 * stack but not its own fields, and `storeRefusedWrite` (store-errors.ts) decides between an
 * outage and a refusal by `code`, `severity` and `RangeError`: those are carried explicitly.
 */
export interface SentError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Own fields with a string or number value (`code`, `severity`, `errno`, `syscall`…). */
  readonly fields: Readonly<Record<string, string | number>>;
}

export function isWriteMethod(method: unknown): method is WriteMethod {
  return (STORE_WRITE_METHODS as readonly unknown[]).includes(method);
}

export function sendableError(error: unknown): SentError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), stack: undefined, fields: {} };
  const fields: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(error)) {
    if (typeof value === 'string' || typeof value === 'number') fields[name] = value;
  }
  return { name: error.name, message: error.message, stack: error.stack, fields };
}

/** The error again, on the receiving thread: a `RangeError` stays one, its fields come back. */
export function receivedError(sent: SentError): Error {
  const error = sent.name === 'RangeError' ? new RangeError(sent.message) : new Error(sent.message);
  if (sent.name !== 'RangeError' && sent.name !== 'Error') Object.defineProperty(error, 'name', { value: sent.name, configurable: true, writable: true });
  if (sent.stack !== undefined) error.stack = sent.stack;
  Object.assign(error, sent.fields);
  return error;
}
