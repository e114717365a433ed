/**
 * The layer rule of docs/architecture.md, checked by `npm run lint`: a folder of src/ imports
 * only from folders below it, a policy never imports another policy, the engine knows no
 * policy by name, and nothing imports in a circle. Tests (`*.test.ts`) may import anything.
 */

/** Bottom up. A folder may import its own files and those of any folder before it. */
const LAYERS = ['http', 'config', 'keys', 'store', 'telemetry', 'verify', 'limits', 'routes', 'openapi', 'certs', 'policies', 'engine', 'health', 'webhooks', 'admin', 'app', 'workers', 'cli'];

const upwardRules = LAYERS.slice(0, -1).map((layer, index) => ({
  name: `layer-${layer}`,
  comment: `src/${layer}/ may import only from ${LAYERS.slice(0, index).join(', ') || 'no other folder'} (docs/architecture.md, "Layers")`,
  severity: 'error',
  from: { path: `^src/${layer}/`, pathNot: '\\.test\\.ts$' },
  to: { path: `^src/(${LAYERS.slice(index + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    ...upwardRules,
    {
      name: 'policy-imports-policy',
      comment: 'A policy owns its folder: it imports the shared contract (src/policies/*.ts) and lower layers, never another policy',
      severity: 'error',
      from: { path: '^src/policies/([^/]+)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/policies/[^/]+/', pathNot: '^src/policies/$1/' },
    },
    {
      name: 'engine-names-a-policy',
      comment: 'The engine knows no policy by name: only the check contract (src/policies/*.ts)',
      severity: 'error',
      from: { path: '^src/engine/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/policies/[^/]+/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js'] },
  },
};
