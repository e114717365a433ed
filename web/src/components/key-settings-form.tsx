import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, fieldErrors, type Key, type ScopeList } from '../api.ts';
import { useLoad } from '../use-load.ts';
import { formatTime } from '../format.ts';
import { Notice } from './notice.tsx';

/** What the form holds, as typed. */
export interface SettingsDraft {
  name: string;
  tags: string;
  scopes: string;
  /** The gateway's APIs the key may be used on, separated by spaces; empty: every API. */
  apis: string;
  allowedCidrs: string;
  rateLimit: string;
  quota: string;
  /** A PEM certificate or a SHA-256 fingerprint. */
  certificate: string;
  /** `keep`, `never`, a duration (`30d`), or `custom`. */
  expiry: string;
  expiresAt: string;
  metadata: string;
}

const EXPIRY_CHOICES = [
  { value: 'never', label: 'Never' },
  { value: '1d', label: 'In 1 day' },
  { value: '7d', label: 'In 7 days' },
  { value: '30d', label: 'In 30 days' },
  { value: '90d', label: 'In 90 days' },
  { value: '365d', label: 'In 1 year' },
  { value: 'custom', label: 'On a date…' },
];

function splitList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).map((item) => item.trim()).filter((item) => item !== ''))];
}

function lines(text: string): string[] {
  return [...new Set(text.split(/[\n,]+/).map((line) => line.trim()).filter((line) => line !== ''))];
}

export function emptyDraft(): SettingsDraft {
  return { name: '', tags: '', scopes: '', apis: '', allowedCidrs: '', rateLimit: '', quota: '', certificate: '', expiry: 'never', expiresAt: '', metadata: '' };
}

export function draftOf(key: Key): SettingsDraft {
  const list = (field: string) => ((key[field] as string[] | undefined) ?? []);
  const metadata = (key.metadata as Record<string, unknown> | undefined) ?? {};
  return {
    name: key.name,
    tags: key.tags.join(', '),
    scopes: list('scopes').join(' '),
    apis: list('apis').join(' '),
    allowedCidrs: list('allowedCidrs').join('\n'),
    rateLimit: (key.rateLimit as string | null) ?? '',
    quota: (key.quota as string | null) ?? '',
    certificate: (key.certFingerprint as string | null) ?? '',
    expiry: 'keep',
    expiresAt: '',
    metadata: Object.keys(metadata).length === 0 ? '' : JSON.stringify(metadata, null, 2),
  };
}

/** The admin API body for a draft; `metadata` that is not a JSON object is refused here, beside its field. */
export function bodyOf(draft: SettingsDraft, creating: boolean): { body: Record<string, unknown> } | { errors: Record<string, string> } {
  const body: Record<string, unknown> = { name: draft.name.trim(), tags: splitList(draft.tags), scopes: splitList(draft.scopes), apis: splitList(draft.apis), allowedCidrs: lines(draft.allowedCidrs) };
  body.rateLimit = draft.rateLimit.trim() === '' ? null : draft.rateLimit.trim();
  body.quota = draft.quota.trim() === '' ? null : draft.quota.trim();
  const certificate = draft.certificate.trim();
  if (certificate.includes('BEGIN CERTIFICATE')) body.certificate = certificate;
  else body.certFingerprint = certificate === '' ? null : certificate;
  if (draft.expiry === 'custom') body.expiresAt = draft.expiresAt === '' ? 'invalid' : new Date(draft.expiresAt).toISOString();
  else if (draft.expiry === 'never') body.expiresAt = null;
  else if (draft.expiry !== 'keep') body.expiresIn = draft.expiry;
  if (creating && body.expiresAt === null) delete body.expiresAt;
  if (draft.metadata.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(draft.metadata);
    } catch {
      return { errors: { metadata: 'metadata: expected a JSON object, such as {"owner": "team-web"}' } };
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { errors: { metadata: 'metadata: expected a JSON object, such as {"owner": "team-web"}' } };
    body.metadata = parsed;
  } else body.metadata = {};
  return { body };
}

/** Which field a message of the admin API belongs beside. */
const FIELD_OF: Record<string, keyof SettingsDraft> = { certFingerprint: 'certificate', certificate: 'certificate', expiresIn: 'expiry', expiresAt: 'expiry' };

export function errorsByField(error: unknown): Record<string, string> {
  const byField: Record<string, string> = {};
  for (const [field, message] of Object.entries(fieldErrors(error))) byField[FIELD_OF[field] ?? field] ??= message;
  return byField;
}

function Field({ id, label, help, error, children }: { id: string; label: string; help?: ComponentChildren; error?: string; children: ComponentChildren }) {
  return (
    <div class={`field${error === undefined ? '' : ' field-invalid'}`}>
      <label for={id}>{label}</label>
      {children}
      {error !== undefined && (
        <p id={`${id}-error`} class="field-error">
          {error}
        </p>
      )}
      {help !== undefined && (
        <p id={`${id}-help`} class="help">
          {help}
        </p>
      )}
    </div>
  );
}

/** Tall enough for what it holds, from 3 to 10 lines. */
const rowsFor = (text: string) => Math.min(10, Math.max(3, text.split('\n').length));

const described = (id: string, error: string | undefined) => ({ 'aria-describedby': `${error === undefined ? '' : `${id}-error `}${id}-help`, 'aria-invalid': error === undefined ? undefined : ('true' as const) });

/** The scopes the gateway's routes require, as toggles that add or remove each from the field. */
function ScopeSuggestions({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  const [list, setList] = useState<ScopeList | null>(null);
  useLoad(() => api<ScopeList>('GET', '/api/scopes'), setList, () => setList(null), []);
  if (list === null || list.scopes.length === 0) return null;
  const chosen = splitList(value);
  return (
    <div class="suggestions" role="group" aria-label="Scopes the gateway's routes require">
      {list.scopes.map(({ scope, operations }) => {
        const on = chosen.includes(scope);
        return (
          <button
            type="button"
            key={scope}
            class="chip"
            aria-pressed={on}
            title={`Needed by ${operations.join(', ')}`}
            onClick={() => onChange((on ? chosen.filter((item) => item !== scope) : [...chosen, scope]).join(' '))}
          >
            {scope}
          </button>
        );
      })}
    </div>
  );
}

/**
 * Every setting of a key, as `portcullis keys create` takes them. Messages from the admin API
 * (the same checks as the CLI's) appear beside their fields.
 */
export function KeySettingsForm({ draft, onChange, errors, currentExpiry, children }: { draft: SettingsDraft; onChange: (draft: SettingsDraft) => void; errors: Record<string, string>; currentExpiry?: string | null; children: ComponentChildren }) {
  const set = (field: keyof SettingsDraft) => (event: { currentTarget: { value: string } }) => onChange({ ...draft, [field]: event.currentTarget.value });
  const expiryChoices = currentExpiry === undefined ? EXPIRY_CHOICES : [{ value: 'keep', label: currentExpiry === null ? 'Keep: never' : `Keep: ${formatTime(currentExpiry)}` }, ...EXPIRY_CHOICES];
  return (
    <>
      {errors[''] !== undefined && <Notice kind="error">{errors['']}</Notice>}
      <fieldset class="form-section">
        <legend>Client</legend>
        <Field id="key-name" label="Client name" error={errors.name} help={<>The one client instance this key is for, such as <code>web-1</code>. One key per instance lets you revoke one without the others.</>}>
          <input id="key-name" required maxLength={128} value={draft.name} onInput={set('name')} {...described('key-name', errors.name)} />
        </Field>
        <Field id="key-tags" label="Tags" error={errors.tags} help="Separated by commas. Revoking a tag bans every key that carries it.">
          <input id="key-tags" value={draft.tags} onInput={set('tags')} placeholder="frontend, eu" {...described('key-tags', errors.tags)} />
        </Field>
        <Field id="key-metadata" label="Metadata" error={errors.metadata} help="A JSON object about the client (owner, ticket); the gateway does not use it.">
          <textarea id="key-metadata" rows={rowsFor(draft.metadata)} class="mono" value={draft.metadata} onInput={set('metadata')} placeholder='{"owner": "team-web"}' spellcheck={false} {...described('key-metadata', errors.metadata)} />
        </Field>
      </fieldset>
      <fieldset class="form-section">
        <legend>Access</legend>
        <Field id="key-scopes" label="Scopes" error={errors.scopes} help={<>What the key may do, separated by spaces: <code>orders:read</code>; <code>orders:*</code> and <code>*</code> are wildcards. Empty: only routes that need no scope.</>}>
          <input id="key-scopes" value={draft.scopes} onInput={set('scopes')} placeholder="orders:read orders:write" spellcheck={false} {...described('key-scopes', errors.scopes)} />
          <ScopeSuggestions value={draft.scopes} onChange={(scopes) => onChange({ ...draft, scopes })} />
        </Field>
        <Field id="key-apis" label="APIs" error={errors.apis} help={<>The gateway's APIs the key may be used on, by name, separated by spaces: <code>orders billing</code>. Empty: every API. On any other API the key is refused (403 <code>key_wrong_api</code>).</>}>
          <input id="key-apis" value={draft.apis} onInput={set('apis')} placeholder="every API" spellcheck={false} {...described('key-apis', errors.apis)} />
        </Field>
        <Field id="key-networks" label="Allowed networks" error={errors.allowedCidrs} help={<>One per line, such as <code>10.0.0.0/8</code>, <code>192.0.2.7</code> or <code>2001:db8::/32</code>. Empty: from anywhere.</>}>
          <textarea id="key-networks" rows={rowsFor(draft.allowedCidrs)} class="mono" value={draft.allowedCidrs} onInput={set('allowedCidrs')} spellcheck={false} {...described('key-networks', errors.allowedCidrs)} />
        </Field>
        <Field id="key-certificate" label="Client certificate" error={errors.certificate} help="Paste the client's PEM certificate or its SHA-256 fingerprint: the key then works only on a TLS connection presenting that certificate. Empty: not bound.">
          <textarea id="key-certificate" rows={3} class="mono" value={draft.certificate} onInput={set('certificate')} spellcheck={false} placeholder="-----BEGIN CERTIFICATE----- … or AB:CD:…" {...described('key-certificate', errors.certificate)} />
        </Field>
      </fieldset>
      <fieldset class="form-section">
        <legend>Limits and lifetime</legend>
        <div class="field-row">
          <Field id="key-rate" label="Rate limit" error={errors.rateLimit} help={<>Such as <code>100/s</code> or <code>100/s burst 200</code>. Empty: the gateway's default.</>}>
            <input id="key-rate" value={draft.rateLimit} onInput={set('rateLimit')} placeholder="100/s" {...described('key-rate', errors.rateLimit)} />
          </Field>
          <Field id="key-quota" label="Quota" error={errors.quota} help={<>Such as <code>10000/day</code> or <code>300000/month</code>. Empty: the default.</>}>
            <input id="key-quota" value={draft.quota} onInput={set('quota')} placeholder="10000/day" {...described('key-quota', errors.quota)} />
          </Field>
        </div>
        <div class="field-row">
          <Field id="key-expiry" label="Expires" error={errors.expiry} help="A key that has expired is refused, like a revoked one.">
            <select id="key-expiry" value={draft.expiry} onChange={set('expiry')} {...described('key-expiry', errors.expiry)}>
              {expiryChoices.map((choice) => (
                <option key={choice.value} value={choice.value}>
                  {choice.label}
                </option>
              ))}
            </select>
          </Field>
          {draft.expiry === 'custom' && (
            <Field id="key-expires-at" label="Expiry date and time">
              <input id="key-expires-at" type="datetime-local" value={draft.expiresAt} onInput={set('expiresAt')} />
            </Field>
          )}
        </div>
      </fieldset>
      {Object.keys(errors).some((field) => field !== '') && (
        <Notice kind="error">
          {Object.keys(errors).length === 1 ? 'A setting was refused' : `${Object.keys(errors).length} settings were refused`}: see the message beside each field.
        </Notice>
      )}
      {children}
    </>
  );
}
