import { useEffect, useState } from 'preact/hooks';
import { api, query, type AuditEntry, type AuditPage as Page, type AuditVerification } from '../api.ts';
import { errorText, Notice } from '../components/notice.tsx';
import { ACTION_LABELS, formatRelative, formatTime } from '../format.ts';
import { useLive } from '../live.ts';

const PAGE_SIZE = 50;

function Target({ entry }: { entry: AuditEntry }) {
  return entry.target.startsWith('key_') ? (
    <a class="mono" href={`#/keys/${entry.target}`}>
      {entry.target}
    </a>
  ) : (
    <span class="mono">{entry.target}</span>
  );
}

/** The audit log, newest first, with a check of its hash chain. */
export function AuditPage() {
  const live = useLive();
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [verification, setVerification] = useState<AuditVerification | null>(null);
  const [verifying, setVerifying] = useState(false);

  useEffect(() => {
    api<Page>('GET', `/api/audit${query({ limit: PAGE_SIZE })}`).then(
      (page) => {
        setEntries(page.items);
        setNext(page.next);
      },
      (failure: unknown) => setError(errorText(failure)),
    );
  }, [live.version]);

  return (
    <section aria-labelledby="audit-title">
      <div class="page-head">
        <h1 id="audit-title" tabIndex={-1}>
          Audit log
        </h1>
        <button
          type="button"
          class="button"
          disabled={verifying}
          onClick={() => {
            setVerifying(true);
            api<AuditVerification>('GET', '/api/audit/verify').then(
              (result) => {
                setVerification(result);
                setVerifying(false);
              },
              (failure: unknown) => {
                setError(errorText(failure));
                setVerifying(false);
              },
            );
          }}
        >
          {verifying ? 'Verifying…' : 'Verify chain'}
        </button>
      </div>
      <p class="muted">Every change to keys and admin tokens, who made it and from where. Entries are hash-chained: editing, deleting or reordering one breaks the chain.</p>
      {verification !== null &&
        (verification.ok ? (
          <Notice kind="success">
            Chain intact: {verification.entries} entries. Head hash <code class="hash">{verification.head.hash}</code>
          </Notice>
        ) : (
          <Notice kind="error">
            Chain broken{verification.seq === null ? '' : ` at entry ${verification.seq}`}: {verification.problem}
          </Notice>
        ))}
      {error !== null && <Notice kind="error">{error}</Notice>}
      {entries === null ? (
        <p class="loading">Loading…</p>
      ) : entries.length === 0 ? (
        <p class="empty card">No changes yet.</p>
      ) : (
        <table class="table responsive">
          <caption class="visually-hidden">Audit entries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Target</th>
              <th scope="col">Who</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.seq}>
                <td data-label="#" class="mono">
                  {entry.seq}
                </td>
                <td data-label="When" title={formatTime(entry.at)}>
                  {formatRelative(entry.at)}
                </td>
                <td data-label="What">
                  <span class={`action action-${entry.action.split('.')[1] ?? ''}`}>{ACTION_LABELS[entry.action] ?? entry.action}</span>
                </td>
                <td data-label="Target">
                  <Target entry={entry} />
                </td>
                <td data-label="Who">
                  <span class="mono">{entry.actor}</span>
                  {entry.address !== null && <div class="muted small">{entry.address}</div>}
                </td>
                <td data-label="Reason">{entry.reason ?? <span class="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next !== null && (
        <button
          type="button"
          class="button load-more"
          onClick={() =>
            api<Page>('GET', `/api/audit${query({ limit: PAGE_SIZE, before: next })}`).then(
              (page) => {
                setEntries((previous) => [...(previous ?? []), ...page.items]);
                setNext(page.next);
              },
              (failure: unknown) => setError(errorText(failure)),
            )
          }
        >
          Load older
        </button>
      )}
    </section>
  );
}
