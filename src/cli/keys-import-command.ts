import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { digestKey } from '../keys/key-digest.ts';
import { createKeyParser, displayPrefixOf, generateKeyId, generateTokenId } from '../keys/key-format.ts';
import type { AuditActor } from '../store/audit-log.ts';
import type { NewKey } from '../store/key-store.ts';
import { collect, printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { loadCommandConfig, storeOptions, withStore } from './command-store.ts';
import { readDeclaredKey } from './keys-file.ts';
import { parseAllowedCidrs, parseApis, parseCertFingerprint, parseExpiresIn, parseKeyName, parseQuotaFlag, parseRateFlag, parseScopes, parseTags } from './key-settings-flags.ts';
import { progressBar } from './progress-bar.ts';

/**
 * `portcullis keys import FILE`: keys issued elsewhere (another Portcullis, or any issuer of
 * keys in Portcullis's format), in bulk and in ONE transaction: all of them or none. FILE has
 * one key per line: the key itself (only its SHA-256 is kept), `sha256:<64 hex>` (or, with
 * --digests, the bare digest), or a JSON object with `key` or `sha256` and any setting of
 * the keys file (`name`, `tags`, `scopes`…) for that key alone. Blank lines and `#` comments
 * are skipped. A key whose digest is already stored is skipped, so importing twice is safe.
 */

interface ImportFlags extends StoreFlags {
  digests?: boolean;
  name: string;
  tag?: string[];
  scope?: string[];
  api?: string[];
  allowIp?: string[];
  certFingerprint?: string;
  rate?: string;
  quota?: string;
  expiresIn?: string;
  json?: boolean;
}

const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;
const MAX_PROBLEMS_SHOWN = 20;
/** What a digest-only key shows where a key shows its first characters. */
const DIGEST_DISPLAY_PREFIX = '(digest)';

/** The flags' settings in the keys file's terms: what every line starts from. */
function defaultEntry(flags: ImportFlags, now: number): Record<string, unknown> {
  const expiresAt = parseExpiresIn(flags.expiresIn, now);
  const entry: Record<string, unknown> = { name: parseKeyName(flags.name), tags: parseTags(flags.tag), scopes: parseScopes(flags.scope), apis: parseApis(flags.api, null), allowedCidrs: parseAllowedCidrs(flags.allowIp) };
  for (const [field, value] of [['certFingerprint', parseCertFingerprint(flags.certFingerprint)], ['rateLimit', parseRateFlag(flags.rate)], ['quota', parseQuotaFlag(flags.quota)], ['expiresAt', expiresAt === null ? null : new Date(expiresAt).toISOString()]] as const) {
    if (value !== null) entry[field] = value;
  }
  return entry;
}

interface LineReader {
  readonly parseKey: (input: unknown) => unknown;
  readonly acceptedPrefixes: readonly string[];
  readonly digests: boolean;
  readonly defaults: Record<string, unknown>;
  readonly plain: NewKeySettings;
}

type NewKeySettings = Omit<NewKey, 'id' | 'digest' | 'displayPrefix'>;

/** The secret part of a line (a key, or a digest) as what the store keeps; a problem when it is neither. */
function credentialOf(text: string, reader: LineReader): { digest: string; displayPrefix: string } | string {
  const digest = text.startsWith('sha256:') ? text.slice(7) : reader.digests ? text : null;
  if (digest !== null) return HEX_DIGEST.test(digest) ? { digest: digest.toLowerCase(), displayPrefix: DIGEST_DISPLAY_PREFIX } : 'expected a SHA-256 digest: 64 hex digits';
  // A key the gateway would never accept is refused here rather than stored for nothing.
  if (reader.parseKey(text) === null) return `not a key the gateway accepts (<prefix>_<43 base62><6 base62 checksum>, with a prefix in keys.acceptedPrefixes: ${reader.acceptedPrefixes.join(', ')})${HEX_DIGEST.test(text) ? '; for digests, give --digests or write sha256:<hex>' : ''}`;
  return { digest: digestKey(text), displayPrefix: displayPrefixOf(text) };
}

/** One line as a new key, or the problem with it. */
function keyOfLine(line: string, reader: LineReader): NewKey | string {
  if (!line.startsWith('{')) {
    const credential = credentialOf(line, reader);
    return typeof credential === 'string' ? credential : { id: generateKeyId(), ...credential, ...reader.plain };
  }
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return 'expected a key, a digest, or one JSON object';
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return 'expected a key, a digest, or one JSON object';
  const { key, sha256, ...settings } = entry as Record<string, unknown>;
  if ((typeof key === 'string') === (typeof sha256 === 'string')) return 'expected exactly one of "key" or "sha256"';
  const credential = credentialOf(typeof key === 'string' ? key : `sha256:${sha256 as string}`, reader);
  if (typeof credential === 'string') return credential;
  const declared = readDeclaredKey({ ...reader.defaults, ...settings }, 'key');
  if (declared.key === null) return declared.problems.join('; ');
  return { id: declared.key.id ?? generateKeyId(), ...credential, ...declared.key.settings };
}

/** Every line of `text` as a new key; a UsageError names the first problems by line number. */
function readImportFile(text: string, file: string, reader: LineReader): NewKey[] {
  const keys: NewKey[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  const bar = progressBar('reading  ', lines.length);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (index % 5000 === 0) bar.update(index);
    if (line === '' || line.startsWith('#')) return;
    const key = keyOfLine(line, reader);
    if (typeof key === 'string') problems.push(`line ${index + 1}: ${key}`);
    else keys.push(key);
  });
  bar.done();
  if (problems.length > 0) {
    const more = problems.length > MAX_PROBLEMS_SHOWN ? `\n  … and ${problems.length - MAX_PROBLEMS_SHOWN} more` : '';
    throw new UsageError(`${file}: nothing was imported:\n${problems.slice(0, MAX_PROBLEMS_SHOWN).map((problem) => `  - ${problem}`).join('\n')}${more}`);
  }
  return keys;
}

function readText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

export function keysImportCommand(keys: Command): Command {
  return storeOptions(keys.command('import').description('import keys issued elsewhere (keys or their SHA-256 digests), in bulk, in one transaction'))
    .argument('<file>', 'one key per line: a key, sha256:<hex>, or a JSON object with key or sha256 and settings (- reads stdin)')
    .option('--digests', 'bare 64-hex lines are SHA-256 digests of keys, not keys')
    .option('--name <name>', 'name of every imported key without one of its own', 'imported')
    .option('--tag <tag>', 'tag every imported key (repeatable)', collect)
    .option('--scope <scope>', 'scope of every imported key (repeatable)', collect)
    .option('--api <name>', 'an API every imported key may be used on (repeatable); default: every API', collect)
    .option('--allow-ip <cidr>', 'client range of every imported key (repeatable)', collect)
    .option('--cert-fingerprint <sha256>', 'bind every imported key to this client certificate')
    .option('--rate <rate>', 'rate limit of every imported key')
    .option('--quota <quota>', 'quota of every imported key')
    .option('--expires-in <duration>', 'every imported key expires after this long')
    .option('--json', 'print what was imported as one JSON object')
    .action(async (file: string, flags: ImportFlags) => {
      const started = Date.now();
      const defaults = defaultEntry(flags, started);
      const plain = readDeclaredKey(defaults, 'flags').key?.settings as NewKeySettings;
      const { acceptedPrefixes } = loadCommandConfig(flags).keys;
      const keysToImport = readImportFile(readText(file), file, { parseKey: createKeyParser(acceptedPrefixes), acceptedPrefixes, digests: flags.digests === true, defaults, plain });
      const by: AuditActor = { actor: 'cli', address: null, changeSet: generateTokenId('import') };
      await withStore(
        flags,
        async (store, _prefix, _config, opened) => {
          const bar = progressBar('importing', keysToImport.length);
          const result = await store.importKeys(keysToImport, Date.now(), by, (done) => bar.update(done));
          bar.done();
          const seconds = (Date.now() - started) / 1000;
          if (flags.json) printJsonObject({ store: opened.location, file, read: keysToImport.length, ...result, changeSet: by.changeSet, seconds });
          else {
            process.stdout.write(
              `Imported ${result.created} key${result.created === 1 ? '' : 's'} from ${file} in ${seconds.toFixed(1)} s (change set ${by.changeSet})` +
                `${result.alreadyStored > 0 ? `; ${result.alreadyStored} already in the store (skipped)` : ''}.\n`,
            );
          }
        },
        { jsonNamesStore: true },
      );
    });
}
