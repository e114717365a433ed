import { useEffect, useState } from 'preact/hooks';
import { api, query, type ListedKey, type Session, type SortedKeyPage } from '../api.ts';
import { useListingGuard, useLoad } from '../use-load.ts';
import { BulkActions, RevokeTag } from '../components/bulk-actions.tsx';
import { ChoiceSelect } from '../components/choice-select.tsx';
import { CopyButton } from '../components/copy-button.tsx';
import { errorText, Notice } from '../components/notice.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { formatNumber, formatRelative, formatTime, WINDOWS } from '../format.ts';
import { useLive } from '../live.ts';
import { navigate } from '../router.ts';

const PAGE_SIZE = 50;

type SortColumn = 'name' | 'status' | 'requests' | 'lastUsed' | 'created';

/** Each sortable column and the order its first click sorts in (names A→Z, numbers and times biggest first). */
/** The column headers are hidden on a phone: this select sorts there instead. */
const SORT_CHOICES = [
  { value: 'created.desc', label: 'Newest first' },
  { value: 'created.asc', label: 'Oldest first' },
  { value: 'name.asc', label: 'Name, A to Z' },
  { value: 'name.desc', label: 'Name, Z to A' },
  { value: 'requests.desc', label: 'Most requests' },
  { value: 'lastUsed.desc', label: 'Recently used' },
  { value: 'status.asc', label: 'Status' },
];

const COLUMNS: Array<{ sort: SortColumn; label: string; first: 'asc' | 'desc' }> = [
  { sort: 'name', label: 'Name', first: 'asc' },
  { sort: 'status', label: 'Status', first: 'asc' },
  { sort: 'requests', label: 'Requests', first: 'desc' },
  { sort: 'lastUsed', label: 'Last used', first: 'desc' },
  { sort: 'created', label: 'Created', first: 'desc' },
];

function plural(count: number, word: string): string {
  return `${formatNumber(count)} ${word}${count === 1 ? '' : 's'}`;
}

/** "1,284 keys, 12 revoked, 2 rotating": every key, whatever the filters. */
function Totals({ page }: { page: SortedKeyPage }) {
  const { counts } = page;
  const parts = [plural(counts.total, 'key')];
  if (counts.revoked > 0) parts.push(`${formatNumber(counts.revoked)} revoked`);
  if (counts.expired > 0) parts.push(`${formatNumber(counts.expired)} expired`);
  if (counts.rotating > 0) parts.push(`${formatNumber(counts.rotating)} rotating`);
  return (
    <p class="totals" role="status">
      {parts.join(', ')}
      {page.matched !== counts.total && <span class="muted"> · {formatNumber(page.matched)} match the filters</span>}
      {!page.complete && <span class="muted"> · only the first 50,000 keys are listed</span>}
    </p>
  );
}

/** Keys, newest first unless a column says otherwise; filters, sort and period live in the URL, so a view can be bookmarked. */
export function KeysPage({ params, session }: { params: URLSearchParams; session: Session }) {
  const q = params.get('q') ?? '';
  const tag = params.get('tag') ?? '';
  const status = params.get('status') ?? '';
  const sort = (params.get('sort') ?? 'created') as SortColumn;
  const order = params.get('order') === 'asc' ? 'asc' : 'desc';
  const window = params.get('window') ?? '24h';
  const live = useLive();
  const [page, setPage] = useState<SortedKeyPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [search, setSearch] = useState(q);
  const [tagInput, setTagInput] = useState(tag);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<string | null>(null);
  const canChange = session.role === 'write';
  const listing = { q, tag, status, sort, order, window };
  const listingKey = query(listing);
  const guardListing = useListingGuard(listingKey);
  // The listing the rows on screen belong to: the table is busy while a new one loads.
  const [loadedKey, setLoadedKey] = useState<string | null>(null);

  useEffect(() => {
    setSearch(q);
    setTagInput(tag);
  }, [q, tag]);

  useLoad(
    () => api<SortedKeyPage>('GET', `/api/keys${query({ ...listing, limit: PAGE_SIZE })}`),
    (found) => {
      setPage(found);
      setLoadedKey(listingKey);
      setError(null);
      // A key that left the list (revoked elsewhere and filtered out) leaves the selection too.
      setSelected((previous) => new Set([...previous].filter((id) => found.items.some((key) => key.id === id))));
    },
    (failure) => setError(errorText(failure)),
    [listingKey, live.version],
  );

  const go = (changes: Record<string, string>) => navigate(`/keys${query({ ...listing, q: search.trim(), tag: tagInput.trim(), ...changes, ...(changes.sort === 'created' && changes.order === 'desc' ? { sort: '', order: '' } : {}) })}`);
  const items: ListedKey[] = page?.items ?? [];
  const allSelected = items.length > 0 && items.every((key) => selected.has(key.id));
  const toggle = (id: string) =>
    setSelected((previous) => {
      const next = new Set(previous);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const loadMore = () => {
    if (page?.nextOffset === null || page === null) return;
    const stillListed = guardListing();
    api<SortedKeyPage>('GET', `/api/keys${query({ ...listing, limit: PAGE_SIZE, offset: page.nextOffset })}`).then(
      (more) => stillListed() && setPage({ ...more, items: [...page.items, ...more.items] }),
      (failure: unknown) => stillListed() && setError(errorText(failure)),
    );
  };

  return (
    <section aria-labelledby="keys-title">
      <div class="page-head">
        <h1 id="keys-title" tabIndex={-1}>
          Keys
        </h1>
        {canChange && (
          <a class="button button-primary" href="#/keys/new">
            Create key
          </a>
        )}
      </div>

      <form
        class="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          go({});
        }}
      >
        <div class="field">
          <label for="search">Search</label>
          <input id="search" type="search" placeholder="Name or id" value={search} onInput={(event) => setSearch(event.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="tag-filter">Tag</label>
          <input id="tag-filter" type="text" placeholder="Any tag" value={tagInput} onInput={(event) => setTagInput(event.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="status-filter">Status</label>
          <select id="status-filter" value={status} onChange={(event) => go({ status: event.currentTarget.value })}>
            <option value="">Any status</option>
            <option value="active">Active</option>
            <option value="rotating">Rotating</option>
            <option value="revoked">Revoked</option>
            <option value="expired">Expired</option>
          </select>
        </div>
        <div class="field">
          <ChoiceSelect id="keys-window" label="Requests in" value={window} choices={WINDOWS} onChange={(value) => go({ window: value })} />
        </div>
        <div class="field phone-only">
          <label for="keys-sort">Sort</label>
          <select
            id="keys-sort"
            value={`${sort}.${order}`}
            onChange={(event) => {
              const [column, direction] = event.currentTarget.value.split('.') as [string, string];
              go({ sort: column, order: direction });
            }}
          >
            {SORT_CHOICES.find((choice) => choice.value === `${sort}.${order}`) === undefined && <option value={`${sort}.${order}`}>Custom</option>}
            {SORT_CHOICES.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-actions">
          <button type="submit" class="button">
            Filter
          </button>
          {(q !== '' || tag !== '' || status !== '') && (
            <a class="button button-quiet" href="#/keys">
              Clear
            </a>
          )}
        </div>
      </form>

      {tag !== '' && canChange && <RevokeTag tag={tag} onDone={setMessage} onError={setError} />}
      {message !== null && <Notice kind="success">{message}</Notice>}
      {error !== null && <Notice kind="error">{error}</Notice>}
      {page !== null && <Totals page={page} />}
      {canChange && selected.size > 0 && (
        <BulkActions
          ids={[...selected]}
          names={items.filter((key) => selected.has(key.id)).map((key) => key.name)}
          onDone={(text) => {
            setMessage(text);
            setSelected(new Set());
          }}
          onError={setError}
          onClear={() => setSelected(new Set())}
        />
      )}

      {page === null ? (
        <p class="loading">Loading keys…</p>
      ) : items.length === 0 ? (
        <div class="empty card">
          <p>No keys match.</p>
          {canChange && <a href="#/keys/new">Create a key</a>}
        </div>
      ) : (
        <table class="table responsive keys-table" aria-busy={loadedKey !== listingKey}>
          <caption class="visually-hidden">
            Keys{tag !== '' ? ` tagged ${tag}` : ''}, sorted by {COLUMNS.find((column) => column.sort === sort)?.label.toLowerCase()}, {order === 'asc' ? 'ascending' : 'descending'}
          </caption>
          <thead>
            <tr>
              {canChange && (
                <th scope="col" class="select-column">
                  <input type="checkbox" aria-label="Select every key shown" checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(items.map((key) => key.id)))} />
                </th>
              )}
              {COLUMNS.slice(0, 2).map((column) => (
                <SortHeader key={column.sort} column={column} sort={sort} order={order} go={go} />
              ))}
              <th scope="col">Tags</th>
              {COLUMNS.slice(2).map((column) => (
                <SortHeader key={column.sort} column={column} sort={sort} order={order} go={go} />
              ))}
            </tr>
          </thead>
          <tbody>
            {items.map((key) => (
              <tr key={key.id} class={selected.has(key.id) ? 'selected' : ''}>
                {canChange && (
                  <td class="select-column" data-label="Select">
                    <input type="checkbox" aria-label={`Select ${key.name}`} checked={selected.has(key.id)} onChange={() => toggle(key.id)} />
                  </td>
                )}
                <td data-label="Name">
                  <a href={`#/keys/${key.id}`} class="key-name">
                    {key.name}
                  </a>
                  <div class="id-line">
                    <span class="muted mono small">{key.id}</span>
                    <CopyButton value={key.id} label={`id of ${key.name}`} />
                  </div>
                </td>
                <td data-label="Status">
                  <StatusBadge status={key.status} />
                  {key.status === 'rotating' && key.rotatedTo !== null && (
                    <div class="small">
                      <a href={`#/keys/${key.rotatedTo}`}>successor</a> <span class="muted">· grace ends {formatRelative(key.expiresAt)}</span>
                    </div>
                  )}
                </td>
                <td data-label="Tags">
                  {key.tags.length === 0 ? (
                    <span class="muted">—</span>
                  ) : (
                    key.tags.map((name) => (
                      <a key={name} class="tag" href={`#/keys${query({ tag: name })}`}>
                        {name}
                      </a>
                    ))
                  )}
                </td>
                <td data-label="Requests" class="number">
                  {formatNumber(key.usage.requests)}
                  {key.usage.denied > 0 && <div class="small text-danger">{formatNumber(key.usage.denied)} refused</div>}
                </td>
                <td data-label="Last used" title={formatTime(key.lastUsedAt)}>
                  {key.lastUsedAt === null ? <span class="muted">never</span> : formatRelative(key.lastUsedAt)}
                  {key.lastUsedAddress !== null && <div class="muted small mono">{key.lastUsedAddress}</div>}
                </td>
                <td data-label="Created" title={formatTime(key.createdAt)}>
                  {formatRelative(key.createdAt)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page !== null && page.usagePending > 0 && <p class="muted small">Older usage is still being summed: requests may grow when the list refreshes.</p>}
      {page?.nextOffset !== null && page !== null && (
        <button type="button" class="button load-more" onClick={loadMore}>
          Load more
        </button>
      )}
    </section>
  );
}

function SortHeader({ column, sort, order, go }: { column: (typeof COLUMNS)[number]; sort: SortColumn; order: 'asc' | 'desc'; go: (changes: Record<string, string>) => void }) {
  const active = column.sort === sort;
  const next = active ? (order === 'asc' ? 'desc' : 'asc') : column.first;
  return (
    <th scope="col" aria-sort={active ? (order === 'asc' ? 'ascending' : 'descending') : undefined} class={column.sort === 'requests' ? 'number' : ''}>
      <button type="button" class={`sort-button${active ? ' sorted' : ''}`} onClick={() => go({ sort: column.sort, order: next })}>
        {column.label}
        <span class="sort-mark" aria-hidden="true">
          {active ? (order === 'asc' ? '▲' : '▼') : '↕'}
        </span>
      </button>
    </th>
  );
}
