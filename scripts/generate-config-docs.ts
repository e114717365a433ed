/**
 * Generates docs/configuration.md from the configuration schema (src/config/schema.ts), so
 * the reference can never drift from what the gateway accepts.
 *
 *   npm run docs:config             rewrite docs/configuration.md
 *   npm run docs:config -- --check  exit 1 when docs/configuration.md is stale
 *
 * src/config/configuration-docs.test.ts runs the same rendering in memory and fails when
 * the committed file differs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configFields, environmentVariableFor } from '../src/config/load-config.ts';
import { ConfigError } from '../src/config/config-error.ts';
import { validateConfigDocument } from '../src/config/validate-config.ts';

export const CONFIGURATION_DOC_PATH = resolve(import.meta.dirname, '..', 'docs', 'configuration.md');

/** The schema keywords this generator knows how to describe; anything else fails loudly. */
interface OptionSchema {
  type?: string | readonly string[];
  format?: string;
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  uniqueItems?: boolean;
  pattern?: string;
  items?: OptionSchema;
  default?: unknown;
  description?: string;
  'x-flag'?: string;
}

/** What each custom format accepts, in words. A new format in the schema needs a line here. */
export const FORMAT_DESCRIPTIONS: Record<string, string> = {
  duration: 'A duration: a number followed by `ms`, `s`, `m`, `h` or `d` (`250ms`, `30s`, `5m`, `1h`, `30d`; decimals such as `1.5s` are allowed), or a plain integer number of milliseconds.',
  'byte-size': 'A size: a number followed by `b`, `kb`, `mb` or `gb` (`512kb`, `10mb`; 1kb = 1024 bytes), or a plain integer number of bytes.',
  'host-port': '`HOST:PORT`, with IPv6 hosts in brackets (`[::]:8080`, `[::1]:8080`). A bare port (`8080`) means `127.0.0.1:8080`. Port `0` picks a free port.',
  'upstream-url': 'An `http://` or `https://` URL without user name, password, query or fragment. A path (`http://10.0.0.5:3000/api`) is prefixed to every forwarded path.',
  'key-prefix': 'Lowercase letters and digits starting with a letter (at most 16), optionally followed by `_` and an environment tag of at most 16 lowercase letters and digits: `pcl`, `pcl_live`, `acme_test`.',
  'header-name': 'An HTTP header name: letters, digits and `-`, at most 64 characters. Matched without regard to case.',
  cidr: 'An IPv4 or IPv6 range in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`) or a single address (`192.0.2.7`, `::1`). Host bits must be zero (`10.0.0.1/8` is refused). `::ffff:a.b.c.d/N` (N ≥ 96) is the IPv4 range it maps. In an environment variable, separate entries with commas.',
  'file-path': 'The path of a file, relative to the working directory. It is read at start-up; a missing or unreadable file stops the start with an error that names the option.',
  'rate-policy': 'A rate: a count, `/`, and `s`, `m`, `h` or `d` (`100/s`, `6000/m`), optionally followed by `burst N`, the requests allowed at once after a quiet spell (`100/s burst 200`; without it, the burst is the count). Enforced with GCRA: smooth, no window edges.',
  'quota-policy': 'A quota: a count, `/`, and `day` or `month` (`10000/day`, `300000/month`). Periods are calendar days and months in UTC.',
  'redis-url': 'A `redis://` or `rediss://` (TLS) URL, optionally with a password and database: `redis://:secret@10.0.0.9:6379/0`.',
  'header-name-or-star': 'An HTTP header name (letters, digits and `-`, at most 64 characters, matched without regard to case), or `*`.',
  'base-path': 'A path prefix: `/` followed by segments (`/v1`, `/api/v2`), canonical, without a trailing `/` or `{parameters}`; or the empty string for none.',
  'cors-origin': 'An origin as browsers send it, lower case and without a path: `https://app.example.com`, `http://localhost:5173`; a wildcard leftmost label, `https://*.example.com`, matches one or more labels in front of `example.com` (not `example.com` itself); `*` matches any origin.',
};

/** A valid portcullis.yaml that shows the shape of the file; the docs test loads it. */
export const EXAMPLE_CONFIG_YAML = `# portcullis.yaml: every option is optional. These values are examples, not the defaults.
listen: 0.0.0.0:8080              # accept other machines (the default is 127.0.0.1:8080)
store: ./data/portcullis.db       # relative paths are resolved against the working directory

upstream:
  url: http://127.0.0.1:3000      # the API to protect
  connections: 64
  headersTimeout: 10s

keys:
  prefix: pcl_live                # new keys look like pcl_live_…
  acceptedPrefixes: [pcl_live, pcl] # still accept older pcl_… keys while clients move over

server:
  maxHeaderSize: 32kb
  drainTimeout: 15s

changeFeed:
  pollInterval: 50ms              # the longest a revocation takes to reach this node
  staleFor: 2m                    # store unreachable: known keys keep working this long, then 503

health:
  listen: 127.0.0.1:9090          # GET /healthz and /readyz, for the load balancer

log:
  level: info
`;

function typesOf(schema: OptionSchema): string[] {
  if (schema.type === undefined) return [];
  return typeof schema.type === 'string' ? [schema.type] : [...schema.type];
}

function code(text: string): string {
  return `\`${text}\``;
}

/** "Type / format" cell: the format's name when there is one (explained under Formats), else the JSON type with its bounds. */
export function describeType(schema: OptionSchema): string {
  const types = typesOf(schema);
  const nullable = types.includes('null') ? ' or `null`' : '';
  if (schema.format !== undefined) {
    if (!(schema.format in FORMAT_DESCRIPTIONS)) throw new Error(`No description for format "${schema.format}": add it to FORMAT_DESCRIPTIONS in scripts/generate-config-docs.ts`);
    return `${schema.format} ([format](#${schema.format}))${nullable}`;
  }
  if (schema.enum !== undefined) return `one of ${schema.enum.map((value) => code(String(value))).join(', ')}`;
  const nonNull = types.filter((type) => type !== 'null');
  if (nonNull.length !== 1) throw new Error(`Cannot describe a type of ${JSON.stringify(schema.type)} without a format`);
  const type = nonNull[0] as string;
  if (type === 'array') {
    if (schema.items === undefined) throw new Error('Cannot describe an array without items');
    const bounds = [schema.minItems !== undefined && schema.minItems > 0 ? `at least ${schema.minItems}` : '', schema.uniqueItems ? 'no duplicates' : ''].filter(Boolean);
    return `list of ${describeType(schema.items)}${bounds.length > 0 ? ` (${bounds.join(', ')})` : ''}${nullable}`;
  }
  if (type === 'integer' || type === 'number') {
    if (schema.minimum !== undefined && schema.maximum !== undefined) return `${type}, ${schema.minimum}–${schema.maximum}${nullable}`;
    if (schema.minimum !== undefined) return `${type} ≥ ${schema.minimum}${nullable}`;
    if (schema.maximum !== undefined) return `${type} ≤ ${schema.maximum}${nullable}`;
    return `${type}${nullable}`;
  }
  if (type === 'string' && schema.pattern !== undefined) return `string matching ${code(schema.pattern)}${nullable}`;
  if (type === 'string' && schema.minLength !== undefined && schema.minLength > 0) return `non-empty string${nullable}`;
  return `${type}${nullable}`;
}

export function describeDefault(value: unknown): string {
  if (value === undefined) return '— (see description)';
  if (value === null) return '`null` (unset)';
  if (value === '') return '`""` (none)';
  if (Array.isArray(value)) return code(`[${value.map(String).join(', ')}]`);
  return code(String(value));
}

/** Table cells must not break the row: escape pipes, keep everything on one line. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** The message a bad value produces, taken from the real validator so the doc shows what users see. */
function sampleValidationMessage(): string {
  const document: Record<string, unknown> = { upstream: { headersTimeout: 'soon' }, upstreem: { url: 'http://127.0.0.1:3000' } };
  const sources: Record<string, string> = { 'upstream.headersTimeout': 'PORTCULLIS_UPSTREAM_HEADERS_TIMEOUT', upstreem: '/etc/portcullis/portcullis.yaml' };
  try {
    validateConfigDocument(document, (field) => sources[field]);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('the sample invalid configuration unexpectedly validated');
}

/** The whole of docs/configuration.md. */
export function renderConfigurationDocs(): string {
  const fields = configFields();
  const rows = fields.map(({ field, schema: raw }) => {
    const schema = raw as OptionSchema;
    if (schema.description === undefined) throw new Error(`${field} has no description in src/config/schema.ts`);
    const flag = schema['x-flag'] === undefined ? '—' : code(schema['x-flag']);
    return `| ${[code(field), code(environmentVariableFor(field)), flag, describeType(schema), describeDefault(schema.default), schema.description].map(cell).join(' | ')} |`;
  });
  const usedFormats = new Set<string>();
  const collectFormats = (schema: OptionSchema) => {
    if (schema.format !== undefined) usedFormats.add(schema.format);
    if (schema.items !== undefined) collectFormats(schema.items);
  };
  for (const { schema } of fields) collectFormats(schema as OptionSchema);
  const formats = [...usedFormats].sort().map((format) => `### ${format}\n\n${FORMAT_DESCRIPTIONS[format]}\n`);

  return `<!-- Generated by scripts/generate-config-docs.ts from src/config/schema.ts. Do not edit: run \`npm run docs:config\`. -->
# Configuration

Every option can be set in a YAML file, as a \`PORTCULLIS_…\` environment variable, and some as
a command-line flag. All of them have a safe default, so none is required: \`npm start\` with no
configuration listens on \`127.0.0.1:8080\`, keeps keys in \`./data/portcullis.db\` and, because no
upstream is set, starts a clearly labelled built-in example upstream.

## Where settings come from

Sources are merged in this order, each overriding the one before:

1. **defaults** (the table below);
2. **the config file**: \`--config FILE\`, else the file named by \`PORTCULLIS_CONFIG\`, else
   \`./portcullis.yaml\` in the working directory when it exists. A file named explicitly must
   exist and be readable;
3. **environment variables** (\`PORTCULLIS_UPSTREAM_URL\`, …). Lists are comma-separated
   (\`PORTCULLIS_KEYS_HEADERS=authorization,x-api-key\`); an empty value sets a nullable option
   to \`null\`;
4. **command-line flags** (\`--listen\`, \`--upstream\`, \`--store\`, \`--admin-listen\`).

The \`keys\` commands find their configuration the same way as \`serve\`, so they open the same
key store. A relative \`store\` path is resolved against the working directory, not against
the config file's folder.

## Validation

The merged configuration is checked against one schema (\`src/config/schema.ts\`) before
anything starts. Unknown options are errors, not ignored, so a typo cannot silently leave a
protection off. An invalid configuration makes the process print every problem, naming the
option, where it came from, what was expected and what was found, and exit with status
\`2\` without listening:

\`\`\`
$ PORTCULLIS_UPSTREAM_HEADERS_TIMEOUT=soon npm start -- --config /etc/portcullis/portcullis.yaml
${sampleValidationMessage()}
\`\`\`

## Options

| Option | Environment variable | Flag | Type / format | Default | Description |
|---|---|---|---|---|---|
${rows.join('\n')}

## Formats

${formats.join('\n')}
## Example \`portcullis.yaml\`

\`\`\`yaml
${EXAMPLE_CONFIG_YAML}\`\`\`
`;
}

if (import.meta.main) {
  const rendered = renderConfigurationDocs();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(CONFIGURATION_DOC_PATH, 'utf8');
    } catch {
      // A missing file is simply stale.
    }
    if (current !== rendered) {
      process.stderr.write('docs/configuration.md is stale: run `npm run docs:config`.\n');
      process.exit(1);
    }
  } else {
    writeFileSync(CONFIGURATION_DOC_PATH, rendered);
    process.stdout.write(`Wrote ${CONFIGURATION_DOC_PATH}\n`);
  }
}
