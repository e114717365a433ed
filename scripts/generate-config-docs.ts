/**
 * Generates docs/configuration.md from the options every part of the gateway declares (its
 * config fragments, put together in src/app/config.ts), so the reference can never drift from
 * what the gateway accepts.
 *
 *   npm run docs:config             rewrite docs/configuration.md
 *   npm run docs:config -- --check  exit 1 when docs/configuration.md is stale
 *
 * src/app/configuration-docs.test.ts runs the same rendering in memory and fails when
 * the committed file differs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gatewayConfig } from '../src/app/config.ts';
import { ConfigError } from '../src/config/config-error.ts';
import type { OptionSchema } from '../src/config/config-fragment.ts';
import { configFormats, environmentVariableFor, typesOf } from '../src/config/config-schema.ts';
import { NON_OPTION_VARIABLES } from '../src/config/environment-variables.ts';

export const CONFIGURATION_DOC_PATH = resolve(import.meta.dirname, '..', 'docs', 'configuration.md');

/** What each format accepts, in words: each format's own documentation. */
const FORMATS = configFormats(gatewayConfig.fragments);

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

function code(text: string): string {
  return `\`${text}\``;
}

/** "Type / format" cell: the format's name when there is one (explained under Formats), else the JSON type with its bounds. */
export function describeType(schema: OptionSchema): string {
  const types = typesOf(schema);
  const nullable = types.includes('null') ? ' or `null`' : '';
  if (schema.format !== undefined) {
    if (!FORMATS.has(schema.format)) throw new Error(`No format "${schema.format}": declare it in the fragment that uses it`);
    return `${schema.format} ([format](#${schema.format}))${nullable}`;
  }
  if (schema.enum !== undefined) return `one of ${schema.enum.map((value) => code(String(value))).join(', ')}`;
  const nonNull = types.filter((type) => type !== 'null');
  if (nonNull.length !== 1) throw new Error(`Cannot describe a type of ${JSON.stringify(schema.type)} without a format`);
  const type = nonNull[0] as string;
  if (type === 'array') {
    if (schema.items === undefined) throw new Error('Cannot describe an array without items');
    const bounds = [schema.minItems !== undefined && schema.minItems > 0 ? `at least ${schema.minItems}` : '', schema.uniqueItems ? 'no duplicates' : ''].filter(Boolean);
    return `list of ${describeType(schema.items as OptionSchema)}${bounds.length > 0 ? ` (${bounds.join(', ')})` : ''}${nullable}`;
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
    gatewayConfig.validate(document, (field) => sources[field]);
  } catch (error) {
    // As the CLI prints it (src/cli/program.ts).
    if (error instanceof ConfigError) return `portcullis: error: ${error.message.replace(/^Invalid configuration/, 'invalid configuration')}`;
    throw error;
  }
  throw new Error('the sample invalid configuration unexpectedly validated');
}

/** The options grouped by their top-level section, in the order each section first appears. */
export function optionsBySection(): Array<{ field: string; schema: OptionSchema }> {
  const sections = new Map<string, Array<{ field: string; schema: OptionSchema }>>();
  for (const option of gatewayConfig.options) {
    const section = option.field.split('.')[0] as string;
    let list = sections.get(section);
    if (list === undefined) sections.set(section, (list = []));
    list.push(option);
  }
  return [...sections.values()].flat();
}

/** The whole of docs/configuration.md. */
export function renderConfigurationDocs(): string {
  const fields = optionsBySection();
  const rows = fields.map(({ field, schema }) => {
    if (schema.description === undefined) throw new Error(`${field} has no description in its config fragment`);
    const flag = schema['x-flag'] === undefined ? '—' : code(schema['x-flag']);
    return `| ${[code(field), code(environmentVariableFor(field)), flag, describeType(schema), describeDefault(schema.default), schema.description].map(cell).join(' | ')} |`;
  });
  const usedFormats = new Set<string>();
  const collectFormats = (schema: OptionSchema) => {
    if (schema.format !== undefined) usedFormats.add(schema.format);
    if (schema.items !== undefined) collectFormats(schema.items as OptionSchema);
  };
  for (const { schema } of fields) collectFormats(schema);
  const formats = [...usedFormats].sort().map((format) => `### ${format}\n\n${FORMATS.get(format)?.documentation}\n`);

  return `<!-- Generated by scripts/generate-config-docs.ts from the config fragments (src/app/config.ts). Do not edit: run \`npm run docs:config\`. -->
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
   to \`null\`. A \`PORTCULLIS_…\` variable that names no option is an error, as an unknown
   option is (see [Validation](#validation)); only these, which are not options, are accepted:
${Object.entries(NON_OPTION_VARIABLES).map(([name, use]) => `   - \`${name}\`: ${use};`).join('\n')}
4. **command-line flags** (\`--listen\`, \`--upstream\`, \`--store\`, \`--admin-listen\`).

The \`keys\` commands find their configuration the same way as \`serve\`, so they open the same
key store. A relative \`store\` path is resolved against the working directory, not against
the config file's folder.

## Validation

The merged configuration is checked against one schema, made of the options each part declares
(\`src/app/config.ts\` lists the parts), before
anything starts. Unknown options are errors, not ignored, so a typo cannot silently leave a
protection off. An invalid configuration makes the process print every problem, naming the
option, where it came from, what was expected and what was found (with the closest option's
name for a misspelt one, and the file's line with a caret under the problem), and exit with
status \`2\` without listening. \`portcullis config check\` loads and checks everything \`serve\`
would (this configuration, the OpenAPI document, the TLS files, the key store) without listening:

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
