/**
 * Trims a published OpenAPI description to a size fit for the repository, keeping it what it
 * was: a subset of its path items, with every component and every file they reach, unchanged.
 * Run once per description when the corpus is refreshed (test/fixtures/real-world/README.md
 * has the exact commands); not part of any test.
 *
 *   node test/corpus/trim-description.ts single IN OUT [--every N] [--match REGEX] [--exclude REGEX] [--responses descriptions]
 *       One file (JSON or YAML; OUT is written as JSON when it ends in .json): keeps every Nth
 *       path item (and those whose path matches --match, but none that match --exclude), then only the components,
 *       definitions, parameters and responses that what is kept references, transitively.
 *       `--responses descriptions` keeps each response's description only (its schemas,
 *       which the gateway never reads, can reach most of a large description).
 *   node test/corpus/trim-description.ts multi ROOT OUT_DIR [--every N] [--match REGEX] [--exclude REGEX]
 *       A description split over files: the same choice of path items in the root file, then
 *       every file that the kept parts reach, copied to OUT_DIR at the same relative place.
 */
import { copyFileSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { BaseResolver, detectSpec, getTypes, normalizeTypes, resolveDocument } from '@redocly/openapi-core';

type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

function read(path: string): Json {
  const text = readFileSync(path, 'utf8');
  return (path.endsWith('.json') ? JSON.parse(text) : parse(text)) as Json;
}

function keptPaths(paths: Json, every: number, match: RegExp | null, exclude: RegExp | null): Json {
  const kept: Json = {};
  Object.keys(paths).forEach((template, index) => {
    if ((index % every === 0 || match?.test(template) === true) && exclude?.test(template) !== true) kept[template] = paths[template];
  });
  return kept;
}

function decodeToken(token: string): string {
  return decodeURIComponent(token).replaceAll('~1', '/').replaceAll('~0', '~');
}

/** Every internal `$ref` (`#/…`) under `value`, followed transitively through `root`. */
function reachable(root: Json, start: unknown): Set<string> {
  const seen = new Set<string>();
  const pending: unknown[] = [start];
  while (pending.length > 0) {
    const value = pending.pop();
    if (Array.isArray(value)) pending.push(...value);
    else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === '$ref' && typeof child === 'string' && child.startsWith('#/') && !seen.has(child)) {
          seen.add(child);
          let target: unknown = root;
          for (const token of child.slice(2).split('/')) target = (target as Json | undefined)?.[decodeToken(token)];
          pending.push(target);
        } else pending.push(child);
      }
    }
  }
  return seen;
}

/** Keeps, in each section of reusable parts, only the entries some kept `$ref` names. */
function pruneSections(root: Json, references: Set<string>): void {
  const sections: string[][] = root.swagger === undefined
    ? Object.keys((root.components as Json | undefined) ?? {}).map((name) => ['components', name])
    : [['definitions'], ['parameters'], ['responses']];
  for (const section of sections) {
    const holder = section.length === 1 ? root : (root[section[0] as string] as Json);
    const entries = holder[section.at(-1) as string] as Json | undefined;
    if (entries === undefined || section.at(-1) === 'securitySchemes') continue;
    const prefix = `#/${section.join('/')}/`;
    for (const name of Object.keys(entries)) {
      const address = prefix + name.replaceAll('~', '~0').replaceAll('/', '~1');
      if (![...references].some((reference) => reference === address || reference.startsWith(`${address}/`) || decodeURIComponent(reference) === address)) delete entries[name];
    }
  }
}

function responsesAsDescriptions(paths: Json): void {
  for (const item of Object.values(paths) as Json[]) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (operation?.responses === undefined) continue;
      const responses = operation.responses as Json;
      for (const status of Object.keys(responses)) {
        const response = responses[status] as Json;
        responses[status] = { description: typeof response.description === 'string' ? response.description : 'see the published description' };
      }
    }
  }
}

function trimSingle(input: string, output: string, every: number, match: RegExp | null, exclude: RegExp | null, responses: string | undefined): void {
  const root = read(input);
  root.paths = keptPaths(root.paths as Json, every, match, exclude);
  delete root['x-tagGroups'];
  if (responses === 'descriptions') responsesAsDescriptions(root.paths as Json);
  pruneSections(root, reachable(root, { paths: root.paths, security: root.security }));
  writeFileSync(output, output.endsWith('.json') ? `${JSON.stringify(root, null, 1)}\n` : stringify(root));
}

async function trimMulti(rootPath: string, outDirectory: string, every: number, match: RegExp | null, exclude: RegExp | null): Promise<void> {
  const root = read(rootPath);
  root.paths = keptPaths(root.paths as Json, every, match, exclude);
  delete root.tags;
  delete root['x-tagGroups'];
  const trimmedRoot = join(dirname(rootPath), `.trimmed-${Date.now()}.yaml`);
  writeFileSync(trimmedRoot, stringify(root));
  const resolver = new BaseResolver();
  const document = await resolver.resolveDocument(null, trimmedRoot, true);
  if (document instanceof Error) throw document;
  await resolveDocument({ rootDocument: document, externalRefResolver: resolver, rootType: normalizeTypes(getTypes(detectSpec(document.parsed))).Root! });
  const base = dirname(rootPath);
  for (const file of resolver.cache.keys()) {
    if (file === trimmedRoot) continue;
    const target = join(outDirectory, relative(base, file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
  mkdirSync(outDirectory, { recursive: true });
  copyFileSync(trimmedRoot, join(outDirectory, relative(base, rootPath)));
  unlinkSync(trimmedRoot);
  process.stdout.write(`${resolver.cache.size} files\n`);
}

const { positionals, values } = parseArgs({ allowPositionals: true, options: { every: { type: 'string', default: '1' }, match: { type: 'string' }, exclude: { type: 'string' }, responses: { type: 'string' } } });
const [mode, input, output] = positionals;
const match = values.match === undefined ? null : new RegExp(values.match);
const exclude = values.exclude === undefined ? null : new RegExp(values.exclude);
if (mode === 'single' && input !== undefined && output !== undefined) trimSingle(input, output, Number(values.every), match, exclude, values.responses);
else if (mode === 'multi' && input !== undefined && output !== undefined) await trimMulti(input, output, Number(values.every), match, exclude);
else {
  process.stderr.write('usage: trim-description.ts single|multi IN OUT [--every N] [--match REGEX] [--exclude REGEX] [--responses descriptions]\n');
  process.exitCode = 2;
}
