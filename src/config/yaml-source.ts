import { createRequire } from 'node:module';
import type { Document, YAMLError } from 'yaml';
import { ConfigError, describeFound } from './config-error.ts';

/**
 * A YAML config file, parsed with where each value came from, so that a problem can show the
 * line it is on with a caret under it, as compilers do:
 *
 *     portcullis.yaml:3:34: unexpected "{" inside a flow mapping
 *         3 |   - { method: GET, path: /orders/{id} }
 *           |                                  ^
 *       hint: in YAML, { … } is a mapping: quote a value that holds braces, such as path: '/orders/{id}'
 */

/** The YAML trap this file warns about: braces read as a flow mapping. */
export const FLOW_MAPPING_HINT = "in YAML, { … } is a mapping: quote a value that holds braces, such as path: '/orders/{id}'";

export interface YamlSource {
  /** The document as plain data (an object, checked to be a mapping). */
  value: Record<string, unknown>;
  /** The line and a caret under where a dotted field (`routes.0.path`) is written; undefined when it is not in the file. */
  excerpt(field: string): string | undefined;
}

/** `text` line `line` (1-based) with a caret under `column` (1-based), indented for a problem list. */
function caretExcerpt(text: string, line: number, column: number): string {
  const source = (text.split(/\r?\n/)[line - 1] ?? '').replace(/\t/g, ' ');
  const number = String(line);
  return `      ${number} | ${source}\n      ${' '.repeat(number.length)} | ${' '.repeat(Math.max(0, column - 1))}^`;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

const TOKENS: Readonly<Record<string, string>> = { 'flow-map-start': '"{"', 'flow-map-end': '"}"', 'flow-seq-start': '"["', 'flow-seq-end': '"]"' };

/** The first line of yaml's message, without its own position, its token names as characters. */
function shortMessage(error: YAMLError): string {
  return (error.message.split('\n')[0] ?? '')
    .replace(/ at line \d+, column \d+:?$/, '')
    .replace(/flow-(map|seq)-(start|end)( token)?/g, (token: string) => TOKENS[token.replace(/ token$/, '')] ?? token)
    .replace(/^./, (first) => first.toLowerCase());
}

function isFlowMappingTrap(error: YAMLError, line: string): boolean {
  return /flow-map|flow map|flow collection/i.test(error.message) || (error.code === 'UNEXPECTED_TOKEN' && line.includes('{'));
}

/** One problem per line (a trap often makes yaml report the same line several times). */
function syntaxProblems(path: string, text: string, errors: readonly YAMLError[]): string[] {
  const seen = new Set<number>();
  const problems: string[] = [];
  for (const error of errors) {
    const { line, column } = lineAndColumn(text, error.pos[0]);
    if (seen.has(line)) continue;
    seen.add(line);
    const hint = isFlowMappingTrap(error, text.split(/\r?\n/)[line - 1] ?? '') ? `\n      hint: ${FLOW_MAPPING_HINT}` : '';
    problems.push(`config file ${path}:${line}:${column}: ${shortMessage(error)}\n${caretExcerpt(text, line, column)}${hint}`);
  }
  return problems;
}

interface NodeLike {
  range?: [number, number, number] | null;
  items?: unknown[];
  key?: unknown;
  value?: unknown;
}

/** The node of the last part of `parts` (the pair's key, for a mapping entry), walking maps and sequences. */
function nodeAt(document: Document, parts: readonly string[]): NodeLike | undefined {
  let node = document.contents as NodeLike | null | undefined;
  let pointed: NodeLike | undefined;
  for (const part of parts) {
    if (node === null || node === undefined || !Array.isArray(node.items)) return undefined;
    const items = node.items as NodeLike[];
    if (/^\d+$/.test(part) && items[0] !== undefined && !('key' in items[0])) {
      node = items[Number(part)];
      pointed = node;
    } else {
      const pair = items.find((item) => (item.key as { value?: unknown } | undefined)?.value === part);
      if (pair === undefined) return undefined;
      pointed = pair.key as NodeLike;
      node = pair.value as NodeLike | null;
    }
  }
  return pointed;
}

/** Reads and parses a YAML config file; throws ConfigError with excerpts for any problem. */
export function readYamlSource(path: string, text: string): YamlSource {
  // Loaded only when there is a file to read: most commands start without one.
  const { parseDocument } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) throw new ConfigError(syntaxProblems(path, text, document.errors));
  const value: unknown = document.toJS();
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    throw new ConfigError([`config file ${path}: expected a mapping of options at the top level, found ${describeFound(value)}`]);
  }
  return {
    value: (value ?? {}) as Record<string, unknown>,
    excerpt(field) {
      const offset = nodeAt(document, field.split('.'))?.range?.[0];
      if (offset === undefined) return undefined;
      const { line, column } = lineAndColumn(text, offset);
      return `      at ${path}:${line}:${column}\n${caretExcerpt(text, line, column)}`;
    },
  };
}
