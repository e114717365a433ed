/**
 * Builds @portcullis/browser: dist/index.js and dist/index.d.ts (tsc), and prints the size a
 * page pays for it, minified (rolldown, which Vite already brings) and gzipped.
 *
 *   npm run build:browser
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'rolldown';

const HERE = import.meta.dirname;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(HERE, 'tsconfig.build.json')], { stdio: 'inherit' });
const result = await build({ input: join(HERE, 'dist', 'index.js'), write: false, output: { format: 'esm', minify: true }, logLevel: 'silent' });
const minified = result.output.find((chunk) => chunk.type === 'chunk')?.code ?? '';
process.stdout.write(`@portcullis/browser built into packages/browser/dist/: ${minified.length} bytes minified, ${gzipSync(minified).length} bytes minified and gzipped\n`);
