import { useState } from 'preact/hooks';

/**
 * A new key, shown this once. The copy button uses the Clipboard API (available on the
 * loopback http:// origin too, which browsers count as a secure context); the text field is
 * read-only and selects itself on focus, for copying by hand.
 */
export function SecretReveal({ secret, label }: { secret: string; label: string }) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  return (
    <div class="secret">
      <label for="secret-value" class="secret-label">
        {label}
      </label>
      <div class="secret-row">
        <input id="secret-value" class="secret-value" type="text" readOnly value={secret} spellcheck={false} autocomplete="off" onFocus={(event) => event.currentTarget.select()} />
        <button
          type="button"
          class="button button-primary"
          onClick={() => {
            navigator.clipboard.writeText(secret).then(
              () => setCopied('yes'),
              () => setCopied('failed'),
            );
          }}
        >
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p class="secret-warning" role="status">
        {copied === 'failed' ? 'Copying failed: select the key and copy it by hand. ' : copied === 'yes' ? 'Copied to the clipboard. ' : ''}
        <strong>This is the only time the key is shown.</strong> Store it now; only its digest is kept.
      </p>
    </div>
  );
}
