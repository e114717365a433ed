import { useState } from 'preact/hooks';

/** Copies a value (an id) to the clipboard; says so, for screen readers too. */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      class="copy-button"
      aria-label={state === 'copied' ? `Copied ${label}` : `Copy ${label}`}
      title={`Copy ${value}`}
      onClick={() => {
        navigator.clipboard.writeText(value).then(
          () => setState('copied'),
          () => setState('failed'),
        );
        setTimeout(() => setState('idle'), 2000);
      }}
    >
      {state === 'idle' ? (
        <svg aria-hidden="true" viewBox="0 0 16 16" width="14" height="14" class="copy-icon">
          <rect x="5.5" y="5.5" width="8" height="9" rx="1.5" />
          <path d="M10.5 3.5v-1a1 1 0 0 0-1-1h-6a1 1 0 0 0-1 1v8a1 1 0 0 0 1 1h1" />
        </svg>
      ) : (
        <span aria-hidden="true">{state === 'copied' ? '✓' : '!'}</span>
      )}
    </button>
  );
}
