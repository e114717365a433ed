import { join, resolve } from 'node:path';

/**
 * The real-world descriptions in test/fixtures/real-world/ (README.md there says where each
 * comes from, under which licence, and how it was trimmed).
 */

export interface CorpusEntry {
  readonly name: string;
  /** The root file. */
  readonly file: string;
  /** As published: `3.0` split over files, `2.0` (converted at load), … */
  readonly published: string;
}

const ROOT = resolve(import.meta.dirname, '..', 'fixtures', 'real-world');

export const CORPUS: readonly CorpusEntry[] = [
  { name: 'DigitalOcean', file: join(ROOT, 'digitalocean', 'specification', 'DigitalOcean-public.v2.yaml'), published: '3.0, 442 files' },
  { name: 'Stripe', file: join(ROOT, 'stripe', 'spec3.json'), published: '3.0, JSON' },
  { name: 'Kubernetes', file: join(ROOT, 'kubernetes', 'swagger.json'), published: 'Swagger 2.0, JSON' },
  { name: 'Slack Web API', file: join(ROOT, 'slack', 'slack_web_openapi_v2.json'), published: 'Swagger 2.0, JSON' },
  { name: 'Redocly Museum', file: join(ROOT, 'museum', 'openapi.yaml'), published: '3.1' },
  { name: 'USPTO Data Set API', file: join(ROOT, 'oai', 'uspto.yaml'), published: '3.0' },
  { name: 'Petstore (expanded)', file: join(ROOT, 'oai', 'petstore-expanded.yaml'), published: '3.0' },
  { name: 'Petstore (separate files)', file: join(ROOT, 'oai', 'petstore-separate', 'spec', 'swagger.yaml'), published: 'Swagger 2.0, 5 files' },
];
