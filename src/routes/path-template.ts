import { canonicaliseSegment } from '../http/canonical-path.ts';

/**
 * Path templates (`/orders/{orderId}/items`, `/files/{name}.json`), parsed once at start into
 * segments the route table can match. Literal text is brought to the canonical form of
 * http/canonical-path.ts, because that is the form requests are matched in, and keeps its case:
 * OpenAPI paths are case-sensitive, as are most routers (Fastify, Go's, Spring's), and the path
 * is forwarded as matched, so matching without regard to case would let `/admin/list` be
 * checked against `/Admin/list` and run as `/admin/{x}` upstream.
 */
export type TemplateSegment =
  | { readonly kind: 'literal'; readonly key: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'pattern'; readonly regex: RegExp; readonly names: readonly string[] };

const PARAMETER = /\{([^{}/]+)\}/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function canonicalLiteral(text: string, template: string): string {
  const canonical = canonicaliseSegment(text, 'normalise');
  if (typeof canonical !== 'string') throw new Error(`path template ${JSON.stringify(template)} cannot be matched: ${canonical.detail}`);
  return canonical;
}

/**
 * A segment mixing text and parameters becomes an anchored regular expression, built here
 * once. It runs in linear time: every parameter but the last stops at the first character of
 * the text that follows it, and two parameters must be separated by text.
 */
function patternSegment(segment: string, template: string): TemplateSegment {
  const pieces = segment.split(PARAMETER); // literal, name, literal, name, …, literal
  const names: string[] = [];
  let source = '^';
  for (let index = 0; index < pieces.length; index++) {
    const piece = pieces[index] as string;
    if (index % 2 === 0) {
      source += escapeRegExp(piece === '' ? '' : canonicalLiteral(piece, template));
      continue;
    }
    names.push(piece);
    const following = pieces[index + 1] as string;
    const isLast = index === pieces.length - 2;
    if (following === '' && !isLast) throw new Error(`path template ${JSON.stringify(template)}: parameters {${piece}} and {${pieces[index + 2]}} must be separated by text`);
    source += isLast ? '(.+)' : `([^${escapeRegExp(canonicalLiteral(following, template)[0] as string)}]+)`;
  }
  return { kind: 'pattern', regex: new RegExp(`${source}$`), names };
}

/** Parses a template; throws an Error whose message names the template and the problem. */
export function parsePathTemplate(template: string): TemplateSegment[] {
  if (!template.startsWith('/')) throw new Error(`path template ${JSON.stringify(template)} must start with "/"`);
  if (template === '/') return [];
  const segments: TemplateSegment[] = [];
  for (const segment of template.slice(1).split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new Error(`path template ${JSON.stringify(template)} has an empty, "." or ".." segment; requests with such paths are refused, so it could never match`);
    }
    const whole = /^\{([^{}/]+)\}$/.exec(segment);
    if (whole !== null) segments.push({ kind: 'param', name: whole[1] as string });
    else if (segment.includes('{') || segment.includes('}')) {
      if (segment.replace(PARAMETER, '').match(/[{}]/)) throw new Error(`path template ${JSON.stringify(template)} has an unbalanced "{" or "}"`);
      segments.push(patternSegment(segment, template));
    } else segments.push({ kind: 'literal', key: canonicalLiteral(segment, template) });
  }
  const names = parameterNamesOf(segments);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) throw new Error(`path template ${JSON.stringify(template)} names the parameter {${duplicate}} twice`);
  return segments;
}

/** The parameters of a template in the order the route table captures them. */
function parameterNamesOf(segments: readonly TemplateSegment[]): string[] {
  const names: string[] = [];
  for (const segment of segments) {
    if (segment.kind === 'param') names.push(segment.name);
    else if (segment.kind === 'pattern') names.push(...segment.names);
  }
  return names;
}

/** A key equal for templates that match the same paths (`/a/{x}` and `/a/{y}`). */
export function shapeOf(segments: readonly TemplateSegment[]): string {
  return `/${segments.map((segment) => (segment.kind === 'literal' ? segment.key : segment.kind === 'param' ? '{}' : `{${segment.regex.source}}`)).join('/')}`;
}

/** Text with its percent-encodings decoded (canonical text always decodes), then folded to one case. */
function folded(text: string): string {
  let decoded = text;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    // Not reached for canonical text; fold what there is.
  }
  return decoded.toUpperCase().toLowerCase();
}

/**
 * A key equal for templates that an upstream routing without regard to case would confuse
 * (`/admin/{x}` and `/Admin/{y}`); the route table refuses two different shapes with one key.
 */
export function foldedShapeOf(segments: readonly TemplateSegment[]): string {
  return `/${segments.map((segment) => (segment.kind === 'literal' ? folded(segment.key) : segment.kind === 'param' ? '{}' : `{${folded(segment.regex.source)}}`)).join('/')}`;
}
