import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ERROR_CATALOGUE, problemTypeFor, type ErrorCode } from './error-catalogue.ts';

const ERRORS_DOC = resolve(import.meta.dirname, '..', '..', 'docs', 'errors.md');

/** The `## code` sections of docs/errors.md: headings that are a single snake_case word. */
function documentedSections(markdown: string): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = markdown.split(/^## /m).slice(1);
  for (const part of parts) {
    const newline = part.indexOf('\n');
    const heading = (newline === -1 ? part : part.slice(0, newline)).trim();
    if (/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(heading)) sections.set(heading, newline === -1 ? '' : part.slice(newline + 1));
  }
  return sections;
}

describe('docs/errors.md', () => {
  const markdown = readFileSync(ERRORS_DOC, 'utf8');
  const sections = documentedSections(markdown);
  const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

  test('has a `## code` section for every code in the catalogue', () => {
    const missing = codes.filter((code) => !sections.has(code));
    assert.deepEqual(missing, [], `add a "## <code>" section to docs/errors.md for: ${missing.join(', ')}`);
  });

  test('documents no code that the catalogue does not have', () => {
    const unknown = [...sections.keys()].filter((code) => !(code in ERROR_CATALOGUE));
    assert.deepEqual(unknown, [], `docs/errors.md has sections for codes not in ERROR_CATALOGUE: ${unknown.join(', ')}`);
  });

  test('states the status the catalogue gives each code', () => {
    for (const code of codes) {
      const body = sections.get(code);
      if (body === undefined) continue; // reported by the first test
      const status = /\*\*Status:\*\*\s*(\d{3})/.exec(body)?.[1];
      assert.equal(Number(status), ERROR_CATALOGUE[code].status, `## ${code}: expected "**Status:** ${ERROR_CATALOGUE[code].status}"`);
    }
  });

  test('describes the problem type the gateway sends', () => {
    assert.ok(markdown.includes(problemTypeFor('key_revoked')), 'the example should show the real `type` URN');
    assert.ok(markdown.includes('urn:portcullis:problem:<code>'));
  });
});
