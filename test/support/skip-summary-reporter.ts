/**
 * A node:test reporter that lists, at the end of the run, every test or suite that was skipped
 * and why (`npm test` uses it beside the spec reporter): on a machine without a tool or a
 * service, the reasons are in one place instead of scattered through the output.
 *
 *   node --test --test-reporter=spec --test-reporter-destination=stdout \
 *     --test-reporter=./test/support/skip-summary-reporter.ts --test-reporter-destination=stdout …
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface TestEvent {
  type: string;
  data: { name: string; file?: string; skip?: string | boolean; details?: { type?: string } };
}

const ROOT = process.cwd();
const SUPPORT = join('test', 'support');

function testFiles(folder: string): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(folder, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

/**
 * The test file that declares a test named `name`. A test declared through a helper
 * (describeNeeding) reports the helper's file, so the title is looked up in the test files'
 * text: the whole title, or the longest start of it (a title made from a template literal).
 */
function declaringFile(name: string, sources: Array<{ file: string; text: string }>): string {
  for (let length = name.length; length >= 16; length--) {
    const found = sources.find(({ text }) => text.includes(name.slice(0, length)));
    if (found !== undefined) return relative(ROOT, found.file);
  }
  return '?';
}

export default async function* skipSummary(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const skipped: Array<{ reason: string; name: string; file: string | undefined; suite: boolean }> = [];
  for await (const event of source) {
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.skip === undefined || event.data.skip === false) continue;
    const file = event.data.file === undefined ? undefined : relative(ROOT, event.data.file);
    skipped.push({ reason: typeof event.data.skip === 'string' ? event.data.skip : '(no reason given)', name: event.data.name, file, suite: event.data.details?.type === 'suite' });
  }
  if (skipped.length === 0) {
    yield '\nNo test was skipped.\n';
    return;
  }
  const sources = skipped.some(({ file }) => file === undefined || file.startsWith(SUPPORT))
    ? ['src', 'test', 'bench'].flatMap((folder) => testFiles(join(ROOT, folder))).map((file) => ({ file, text: readFileSync(file, 'utf8') }))
    : [];
  const byReason = new Map<string, string[]>();
  for (const { reason, name, file, suite } of skipped) {
    const where = file === undefined || file.startsWith(SUPPORT) ? declaringFile(name, sources) : file;
    byReason.set(reason, [...(byReason.get(reason) ?? []), `${where}: ${name}${suite ? ' (whole suite)' : ''}`]);
  }
  const lines = [`\nSkipped: ${skipped.length} (set CI=1 to make each a failure)`];
  for (const [reason, tests] of byReason) lines.push(`  - ${reason}`, ...tests.sort().map((test) => `      ${test}`));
  yield `${lines.join('\n')}\n`;
}
