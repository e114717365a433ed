/**
 * Builds the JavaScript the `portcullis` package runs (src/ → dist/), so that the installed
 * CLI runs on any Node.js ≥ 22 without type stripping (Node.js refuses to strip types under
 * node_modules anyway). `npm run build` runs it after the type check and the dashboard build;
 * `npm pack` (prepack) runs `npm run build`.
 *
 * 1. dist/ is emptied, except dist/dashboard/ (scripts/build-dashboard.ts makes it).
 * 2. tsc -p tsconfig.build.json emits dist/: every src/ file but the tests, with relative
 *    `.ts` import specifiers rewritten to `.js` (`rewriteRelativeImportExtensions`).
 * 3. A module named by URL rather than imported (a child process's script,
 *    `new URL('./x.ts', import.meta.url)`) is rewritten the same way; any `.ts` specifier left
 *    fails the build, naming the file.
 * 4. The result is run once: `node --no-experimental-strip-types dist/cli/main.js --version`.
 *
 *   node scripts/build-package.ts
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const KEEP = new Set(['dashboard']);

function javascriptFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return KEEP.has(name) && folder === DIST ? [] : javascriptFiles(path);
    return path.endsWith('.js') ? [path] : [];
  });
}

function clean(): void {
  for (const name of readdirSync(DIST, { withFileTypes: true }).map((entry) => entry.name)) {
    if (!KEEP.has(name)) rmSync(join(DIST, name), { recursive: true, force: true });
  }
}

/** `new URL('./x.ts', import.meta.url)` → `.js`; returns the `.ts` specifiers that remain. */
function rewriteUrls(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(/new URL\((['"])(\.{1,2}\/[^'"]+)\.ts\1, import\.meta\.url\)/g, (_match, quote: string, path: string) => `new URL(${quote}${path}.js${quote}, import.meta.url)`);
  if (rewritten !== text) writeFileSync(file, rewritten);
  return [...rewritten.matchAll(/(?:from |import\(|require\()\s*(['"])(\.{1,2}\/[^'"]+\.ts)\1/g)].map((match) => match[2] as string);
}

mkdirSync(DIST, { recursive: true });
clean();
execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
const leftovers = javascriptFiles(DIST).flatMap((file) => rewriteUrls(file).map((specifier) => `${relative(ROOT, file)}: ${specifier}`));
if (leftovers.length > 0) throw new Error(`dist/ still names TypeScript files, which the package does not ship:\n${leftovers.join('\n')}`);
chmodSync(join(DIST, 'cli', 'main.js'), 0o755);
const version = execFileSync(process.execPath, ['--no-experimental-strip-types', join(DIST, 'cli', 'main.js'), '--version'], { encoding: 'utf8' }).trim();
process.stdout.write(`dist/ built: portcullis ${version} runs from dist/cli/main.js without type stripping\n`);
