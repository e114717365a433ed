import { useEffect, useState } from 'preact/hooks';
import { api, query, type AuditEntry, type AuditPage as Page, type AuditVerification } from '../api.ts';
import { useListingGuard, useLoad } from '../use-load.ts';
import { CopyButton } from '../components/copy-button.tsx';
import { errorText, Notice } from '../components/notice.tsx';
import { ACTION_LABELS, formatRelative, formatTime } from '../format.ts';
import { useLive } from '../live.ts';
import { navigate } from '../router.ts';

const PAGE_SIZE = 50;
const FILTERS = ['actor', 'action', 'target', 'from', 'to'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

const ACTION_CHOICES = [
  { value: '', label: 'Any change' },
  { value: 'key', label: 'Any key change' },
  ...Object.entries(ACTION_LABELS).map(([value, label]) => ({ value, label })),
  { value: 'admin_token', label: 'Any admin token change' },
];

/** `datetime-local` text (local time) ↔ the API's ISO time. */
function toIso(local: string): string {
  return local === '' ? '' : new Date(local).toISOString();
}

function toLocal(iso: string): string {
  if (iso === '') return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** An id with the name it stands for, when there is one. */
function Named({ id, name, link }: { id: string; name: string | null; link?: boolean }) {
  const label = name ?? id;
  return (
    <>
      {link === true ? <a href={`#/keys/${id}`}>{label}</a> : <span>{label}</span>}
      {name !== null && name !== id && (
        <div class="id-line">
          <span class="muted mono small">{id}</span>
          <CopyButton value={id} label={`id of ${name}`} />
        </div>
      )}
    </>
  );
}

function Verification({ result }: { result: AuditVerification }) {
  // The same words as `portcullis audit verify`.
  return result.ok ? (
    <Notice kind="success">
      Audit log intact: {result.entries} entries. Head: seq {result.head.seq}, hash <code class="hash">{result.head.hash}</code>
      <div class="small">Keep the head hash somewhere else: <code>portcullis audit verify --expect-head &lt;hash&gt;</code> later proves the log was not rewritten up to it.</div>
    </Notice>
  ) : (
    <Notice kind="error">
      Audit log verification FAILED{result.seq === null ? '' : ` at entry ${result.seq}`}: {result.problem}
    </Notice>
  );
}

/** The audit log, newest first: filtered (in the URL, so a view can be shared), exported, and its hash chain checked. */
export function AuditPage({ params }: { params: URLSearchParams }) {
  const live = useLive();
  const applied: Filters = { actor: params.get('actor') ?? '', action: params.get('action') ?? '', target: params.get('target') ?? '', from: params.get('from') ?? '', to: params.get('to') ?? '' };
  const [draft, setDraft] = useState<Filters>(applied);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [verification, setVerification] = useState<AuditVerification | null>(null);
  const [verifying, setVerifying] = useState(false);
  const filterText = query(applied);
  const guardListing = useListingGuard(filterText);

  useEffect(() => setDraft(applied), [filterText]);
  useLoad(
    () => api<Page>('GET', `/api/audit${query({ ...applied, limit: PAGE_SIZE })}`),
    (page) => {
      setEntries(page.items);
      setNext(page.next);
      setError(null);
    },
    (failure) => setError(errorText(failure)),
    [filterText, live.version],
  );

  // Actors seen so far, for the actor field's suggestions.
  const actors = new Map<string, string>();
  for (const entry of entries ?? []) actors.set(entry.actor, entry.actorName ?? entry.actor);
  const filtered = FILTERS.some((name) => applied[name] !== '');
  const set = (name: keyof Filters) => (event: { currentTarget: { value: string } }) => setDraft({ ...draft, [name]: event.currentTarget.value });

  return (
    <section aria-labelledby="audit-title">
      <div class="page-head">
        <h1 id="audit-title" tabIndex={-1}>
          Audit log
        </h1>
        <div class="actions">
          <a class="button" href={`/api/audit/export${query({ ...applied, format: 'jsonl' })}`} download>
            Export JSON Lines
          </a>
          <a class="button" href={`/api/audit/export${query({ ...applied, format: 'csv' })}`} download>
            Export CSV
          </a>
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
      </div>
      <p class="muted">Every change to keys and admin tokens, who made it and from where. Entries are hash-chained: editing, deleting or reordering one breaks the chain.</p>
      {verification !== null && <Verification result={verification} />}

      <form
        class="filters audit-filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          navigate(`/audit${query({ ...draft, actor: draft.actor.trim(), target: draft.target.trim() })}`);
        }}
      >
        <div class="field">
          <label for="audit-actor">Actor</label>
          <input id="audit-actor" list="audit-actors" value={draft.actor} onInput={set('actor')} placeholder="cli or adm_…" />
          <datalist id="audit-actors">
            {[...actors].map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="audit-action">Action</label>
          <select id="audit-action" value={draft.action} onChange={set('action')}>
            {ACTION_CHOICES.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="audit-target">Key or token id</label>
          <input id="audit-target" value={draft.target} onInput={set('target')} placeholder="key_…" spellcheck={false} />
        </div>
        <div class="field">
          <label for="audit-from">From</label>
          <input id="audit-from" type="datetime-local" value={toLocal(draft.from)} onInput={(event) => setDraft({ ...draft, from: toIso(event.currentTarget.value) })} />
        </div>
        <div class="field">
          <label for="audit-to">Until</label>
          <input id="audit-to" type="datetime-local" value={toLocal(draft.to)} onInput={(event) => setDraft({ ...draft, to: toIso(event.currentTarget.value) })} />
        </div>
        <div class="field field-actions">
          <button type="submit" class="button">
            Filter
          </button>
          {filtered && (
            <a class="button button-quiet" href="#/audit">
              Clear
            </a>
          )}
        </div>
      </form>

      {error !== null && <Notice kind="error">{error}</Notice>}
      {entries === null ? (
        <p class="loading">Loading…</p>
      ) : entries.length === 0 ? (
        <p class="empty card">{filtered ? 'No entries match the filters.' : 'No changes yet.'}</p>
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
                  {typeof entry.details.changeSet === 'string' && <div class="muted small mono">{entry.details.changeSet}</div>}
                </td>
                <td data-label="Target">
                  <Named id={entry.target} name={entry.targetName} link={entry.target.startsWith('key_')} />
                </td>
                <td data-label="Who">
                  <Named id={entry.actor} name={entry.actorName} />
                  {entry.address !== null && <div class="muted small">from {entry.address}</div>}
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
          onClick={() => {
            const stillListed = guardListing();
            api<Page>('GET', `/api/audit${query({ ...applied, limit: PAGE_SIZE, before: next })}`).then(
              (page) => {
                if (!stillListed()) return;
                setEntries((previous) => [...(previous ?? []), ...page.items]);
                setNext(page.next);
              },
              (failure: unknown) => stillListed() && setError(errorText(failure)),
            );
          }}
        >
          Load older
        </button>
      )}
    </section>
  );
}
