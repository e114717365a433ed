import type { ConfigFragment } from '../../config/config-fragment.ts';
import type { NonCanonicalPolicy } from '../../http/canonical-path.ts';
import type { Policy } from '../policy.ts';
import { createPathCanonicalCheck } from './path-canonical-check.ts';

interface PathsSettings {
  paths: { nonCanonical: NonCanonicalPolicy };
}

const pathsConfig: ConfigFragment<PathsSettings> = {
  options: {
    'paths.nonCanonical': {
      type: 'string',
      enum: ['refuse', 'normalise'],
      default: 'refuse',
      description:
        'Paths that are not in canonical form (`//`, `.` and `..` segments, needless or lower-case percent-encodings, characters that must be encoded): `refuse` them (400 `path_not_canonical`) or `normalise` them, forwarding the canonical form. Encoded `/` and `\\`, `;`, control bytes and invalid encodings are refused either way.',
    },
  },
  read: (document) => ({ paths: { nonCanonical: (document as unknown as PathsSettings).paths.nonCanonical } }),
};

/** Stage 1: the one canonical path, which every later stage matches and the proxy forwards. Always on. */
export const pathCanonical: Policy<PathsSettings> = {
  name: 'path-canonical',
  stage: 1,
  config: pathsConfig,
  create: (config) => createPathCanonicalCheck(config.paths.nonCanonical),
};
