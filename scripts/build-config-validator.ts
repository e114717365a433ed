/**
 * Generates the configuration validator ahead of time (src/config/precompiled-validator.ts
 * says why), so a short command loads it instead of compiling the schema with Ajv. `npm start`,
 * `npm test` and `npm run bench:cli` run it first; `npm run build` writes it into dist/. The
 * file is not committed; without it, or when it no longer matches the schema, the CLI compiles
 * the schema as before (correct, only slower).
 *
 *   node scripts/build-config-validator.ts              # src/config/precompiled/config-validator.cjs
 *   node scripts/build-config-validator.ts --out FILE   # elsewhere (the package build: dist/)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewayConfig } from '../src/app/config.ts';
import { configFormats } from '../src/config/config-schema.ts';
import { generateValidatorSource, PRECOMPILED_VALIDATOR_FILE } from '../src/config/precompiled-validator.ts';

const outIndex = process.argv.indexOf('--out');
const out = outIndex === -1 ? fileURLToPath(PRECOMPILED_VALIDATOR_FILE) : resolve(process.argv[outIndex + 1] ?? '');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, generateValidatorSource(gatewayConfig.schema, configFormats(gatewayConfig.fragments)));
process.stdout.write(`configuration validator generated: ${out}\n`);
