import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes `portcullis.yaml` (and `hook.secret`) in `folder` with one webhook endpoint: `url`,
 * its `events`, and the `webhooks.*` settings given (`pollInterval: 50ms`, …). Returns the
 * config file's path, for PORTCULLIS_CONFIG.
 */
export function writeWebhookConfig(folder: string, options: { url: string; secret: string; events: readonly string[]; settings: readonly string[] }): string {
  const secretFile = join(folder, 'hook.secret');
  writeFileSync(secretFile, `${options.secret}\n`);
  const configFile = join(folder, 'portcullis.yaml');
  writeFileSync(configFile, [
    'webhooks:',
    ...options.settings.map((setting) => `  ${setting}`),
    '  endpoints:',
    `    - url: ${options.url}`,
    `      secretFile: ${secretFile}`,
    `      events: [${options.events.join(', ')}]`,
    '',
  ].join('\n'));
  return configFile;
}
