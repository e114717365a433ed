import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { AuditEntry } from '../store/audit-log.ts';
import { verifyAuditChain } from '../store/audit-chain.ts';
import type { Store } from '../store/store.ts';
import type { AdminRoute } from './admin-openapi.ts';
import { registerOperation } from './admin-routes.ts';
import { auditEntryView } from './admin-views.ts';
import type { KeyCatalogue } from './key-catalogue.ts';

/** A filtered page reads at most this many entries, then hands back a cursor. */
const MAX_SCANNED = 10_000;
/** An export holds at most this many entries (the newest); `audit list --json` pages further. */
const MAX_EXPORTED = 100_000;
const PAGE = 500;

interface AuditFilter {
  actor?: string;
  /** `key.revoked`, or a family: `key` or `admin_token`. */
  action?: string;
  target?: string;
  /** ISO times: entries at or after `from`, before `to`. */
  from?: string;
  to?: string;
}

function accepts(filter: AuditFilter, range: { from: number; to: number }, entry: AuditEntry): boolean {
  if (filter.actor !== undefined && entry.actor !== filter.actor) return false;
  if (filter.action !== undefined && entry.action !== filter.action && !entry.action.startsWith(`${filter.action}.`)) return false;
  return entry.at >= range.from && entry.at < range.to;
}

/**
 * Entries matching the filter, newest first, from `before` on. The store filters by target
 * and pages by seq; the rest is filtered here, and the scan stops at the first entry older
 * than `from` (seq follows time), after `limit` matches, or after `maxScanned` entries.
 */
async function* matchingEntries(store: Pick<Store, 'listAuditEntries'>, filter: AuditFilter, before: number | undefined, maxScanned: number): AsyncGenerator<AuditEntry, { next: number | null }> {
  const range = { from: filter.from === undefined ? -Infinity : Date.parse(filter.from), to: filter.to === undefined ? Infinity : Date.parse(filter.to) };
  let cursor = before;
  let scanned = 0;
  for (;;) {
    const page = await store.listAuditEntries({ target: filter.target, before: cursor, limit: PAGE });
    for (const entry of page) {
      scanned++;
      cursor = entry.seq;
      if (entry.at < range.from) return { next: null };
      if (accepts(filter, range, entry)) yield entry;
      if (scanned >= maxScanned) return { next: entry.seq > 1 ? entry.seq : null };
    }
    if (page.length < PAGE) return { next: null };
  }
}

/** Who and what each id is, for people: admin token names and key names. */
async function nameBook(store: Pick<Store, 'listAdminTokens'>, catalogue: KeyCatalogue): Promise<(id: string) => string | null> {
  const [tokens, keys] = await Promise.all([store.listAdminTokens(), catalogue.snapshot()]);
  const tokenNames = new Map(tokens.map((token) => [token.id, token.name]));
  return (id) => (id === 'cli' ? 'command line' : (tokenNames.get(id) ?? keys.byId.get(id)?.name ?? null));
}

function namedView(entry: AuditEntry, nameOf: (id: string) => string | null) {
  return { ...auditEntryView(entry), actorName: nameOf(entry.actor), targetName: nameOf(entry.target) };
}

const CSV_COLUMNS = ['seq', 'at', 'actor', 'actorName', 'address', 'action', 'target', 'targetName', 'reason', 'details', 'hash'] as const;

/** One CSV field (RFC 4180), with a leading `'` on text a spreadsheet would run as a formula. */
function csvField(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function registerAuditRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, store: Store, catalogue: KeyCatalogue): void {
  registerOperation(app, routes, 'listAudit', async (request) => {
    const query = request.query as AuditFilter & { before?: number; limit: number };
    const nameOf = await nameBook(store, catalogue);
    const items = [];
    const entries = matchingEntries(store, query, query.before, MAX_SCANNED);
    let next: number | null = null;
    for (;;) {
      const step = await entries.next();
      if (step.done === true) {
        next = step.value.next;
        break;
      }
      items.push(namedView(step.value, nameOf));
      if (items.length === query.limit) {
        next = step.value.seq > 1 ? step.value.seq : null;
        break;
      }
    }
    return { items, next };
  });

  registerOperation(app, routes, 'exportAudit', async (request, reply) => {
    const { format, ...filter } = request.query as AuditFilter & { format: 'jsonl' | 'csv' };
    const nameOf = await nameBook(store, catalogue);
    async function* lines(): AsyncGenerator<string> {
      if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
      let count = 0;
      for await (const entry of matchingEntries(store, filter, undefined, Number.POSITIVE_INFINITY)) {
        const view = namedView(entry, nameOf);
        yield format === 'csv' ? `${CSV_COLUMNS.map((column) => csvField(view[column])).join(',')}\r\n` : `${JSON.stringify(view)}\n`;
        if (++count >= MAX_EXPORTED) return;
      }
    }
    const stamp = new Date().toISOString().slice(0, 19).replaceAll(/[-:]/g, '');
    reply
      .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/jsonl; charset=utf-8')
      .header('content-disposition', `attachment; filename="portcullis-audit-${stamp}.${format}"`)
      .header('cache-control', 'no-store');
    return reply.send(Readable.from(lines()));
  });

  registerOperation(app, routes, 'verifyAudit', async () => verifyAuditChain(store));
}
