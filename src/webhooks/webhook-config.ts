import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../config/config-error.ts';
import type { ConfigFragment } from '../config/config-fragment.ts';
import { duration } from '../config/option-schemas.ts';
import { parseDuration } from '../http/units.ts';
import { WebhookSecretError, webhookSecretKey } from './standard-webhooks.ts';
import type { WebhookEndpoint } from './webhook-dispatcher.ts';
import { WEBHOOK_EVENTS, type WebhookEvent } from './webhook-events.ts';

export interface WebhookSettings {
  webhooks: {
    /** Empty: no webhooks, nothing runs. */
    endpoints: WebhookEndpoint[];
    pollInterval: number;
    timeout: number;
    maxAttempts: number;
    retryDelay: number;
    maxRetryDelay: number;
    /** How long before a key's expiry its `key.expiring` event is sent (ms). */
    expiringWithin: number;
  };
}

interface RawEndpoint {
  url: string;
  secretFile: string;
  events: WebhookEvent[];
}

interface RawWebhooks {
  webhooks: { endpoints: RawEndpoint[]; pollInterval: unknown; timeout: unknown; maxAttempts: number; retryDelay: unknown; maxRetryDelay: unknown; expiringWithin: unknown };
}

const ENDPOINT_ITEM = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'secretFile', 'events'],
  properties: {
    url: { type: 'string', pattern: '^https?://[^\\s]+$' },
    secretFile: { type: 'string', format: 'file-path' },
    events: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...WEBHOOK_EVENTS] } },
  },
} as const;

/** Outgoing webhooks (src/webhooks): where events go, signed per Standard Webhooks, and how they are retried. */
export const webhookConfig: ConfigFragment<WebhookSettings> = {
  options: {
    'webhooks.endpoints': {
      type: 'array',
      default: [],
      items: ENDPOINT_ITEM,
      description: `Where key events are posted, each \`{url, secretFile, events}\`: \`url\` (http or https), \`secretFile\` (a file holding the endpoint's \`whsec_…\` secret, 24 to 64 bytes in base64, read at start), \`events\` (one or more of ${WEBHOOK_EVENTS.map((event) => `\`${event}\``).join(', ')}). Requests are signed per Standard Webhooks (\`webhook-id\`, \`webhook-timestamp\`, \`webhook-signature\`). URLs must be unique. Set in the config file. See [leaks.md](leaks.md#webhooks).`,
    },
    'webhooks.pollInterval': duration('How often each node reads new audit entries into deliveries and sends the deliveries that are due.', '1s'),
    'webhooks.timeout': duration('How long one attempt may take before it counts as failed.', '10s'),
    'webhooks.maxAttempts': { type: 'integer', minimum: 1, maximum: 100, default: 10, description: 'Attempts per delivery before it is given up (status `failed` in the delivery log).' },
    'webhooks.retryDelay': duration('The wait after a first failed attempt; it doubles after each further failure, up to `webhooks.maxRetryDelay`.', '5s'),
    'webhooks.maxRetryDelay': duration('The longest wait between two attempts.', '1h'),
    'webhooks.expiringWithin': duration('How long before a key expires its `key.expiring` event is sent: once per key and expiry (a key given a new expiry gets a new event), by whichever node finds it first; keys are read for it at most once a minute.', '7d'),
  },
  read(document, { cwd }) {
    const raw = (document as unknown as RawWebhooks).webhooks;
    const seen = new Set<string>();
    const endpoints = raw.endpoints.map((endpoint, index): WebhookEndpoint => {
      if (seen.has(endpoint.url)) throw new ConfigError([`webhooks.endpoints.${index}.url: expected each endpoint once, found ${endpoint.url} twice`]);
      seen.add(endpoint.url);
      return { url: endpoint.url, events: new Set(endpoint.events), key: readSecret(resolve(cwd, endpoint.secretFile), `webhooks.endpoints.${index}.secretFile`) };
    });
    const ms = (value: unknown) => parseDuration(value) as number;
    return { webhooks: { endpoints, pollInterval: ms(raw.pollInterval), timeout: ms(raw.timeout), maxAttempts: raw.maxAttempts, retryDelay: ms(raw.retryDelay), maxRetryDelay: ms(raw.maxRetryDelay), expiringWithin: ms(raw.expiringWithin) } };
  },
};

function readSecret(file: string, field: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${field}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  try {
    return webhookSecretKey(text);
  } catch (error) {
    if (error instanceof WebhookSecretError) throw new ConfigError([`${field}: ${file}: ${error.message}`]);
    throw error;
  }
}
