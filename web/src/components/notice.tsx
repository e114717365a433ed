import { ApiError } from '../api.ts';
import type { ComponentChildren } from 'preact';

/** A message that screen readers announce: errors assertively, the rest politely. */
export function Notice({ kind, children }: { kind: 'error' | 'success' | 'info'; children: ComponentChildren }) {
  return (
    <div class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** A failure as a person reads it; null when the admin API is unreachable, which the offline notice already says (and retries). */
export function errorText(error: unknown): string | null {
  if (error instanceof ApiError && error.problem.code === 'offline') return null;
  return error instanceof Error ? error.message : String(error);
}
