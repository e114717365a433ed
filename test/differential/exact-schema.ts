/**
 * The oracle's schema check: the small part of JSON Schema that api.yaml uses (type, enum,
 * pattern, maxLength, minimum, maximum, required), applied to values as an upstream reported
 * them, with numbers compared EXACTLY (decimal text against the document's exact bound),
 * never as doubles. The gateway compares doubles; an upstream that parses integers exactly
 * (Python) acts on the exact value, so that is what must be within the contract.
 *
 * Written here rather than taken from ajv on purpose: an oracle that shares the gateway's
 * validator (and its number semantics) would agree with it by construction.
 */
import type { ReportedValue } from './upstreams/upstream-report.ts';

/** A schema of api.yaml as read with `intAsBigInt` (integers exact). */
export interface Schema {
  type?: string;
  enum?: unknown[];
  pattern?: string;
  maxLength?: bigint | number;
  minimum?: bigint | number;
  maximum?: bigint | number;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean;
}

/** ±digits × 10^exponent: the exact value of a JSON number's text. */
interface Decimal {
  negative: boolean;
  digits: bigint;
  exponent: number;
}

const NUMBER_TEXT = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** The exact value of a number written as JSON, JavaScript (`1e+21`) or Python (`1e+19`) write it; null when it is not a finite number. */
export function parseDecimal(text: string): Decimal | null {
  const match = NUMBER_TEXT.exec(text);
  if (match === null) return null;
  const fraction = match[3] ?? '';
  return { negative: match[1] === '-', digits: BigInt((match[2] as string) + fraction), exponent: Number(match[4] ?? 0) - fraction.length };
}

function signed(decimal: Decimal, exponent: number): bigint {
  const scaled = decimal.digits * 10n ** BigInt(decimal.exponent - exponent);
  return decimal.negative ? -scaled : scaled;
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`, exactly. */
export function compareDecimals(a: Decimal, b: Decimal): number {
  const exponent = Math.min(a.exponent, b.exponent);
  const left = signed(a, exponent);
  const right = signed(b, exponent);
  return left < right ? -1 : left > right ? 1 : 0;
}

function isIntegral(decimal: Decimal): boolean {
  return decimal.exponent >= 0 || decimal.digits % 10n ** BigInt(-decimal.exponent) === 0n;
}

function boundOf(bound: bigint | number): Decimal {
  return parseDecimal(String(bound)) as Decimal;
}

/** Problems of one string value (a parameter, or a string body field) against its schema. */
function stringProblems(text: string, schema: Schema, where: string): string[] {
  const problems: string[] = [];
  if (schema.enum !== undefined && !schema.enum.includes(text)) problems.push(`${where} ${JSON.stringify(text)} is not one of ${JSON.stringify(schema.enum)}`);
  // JSON Schema counts characters as code points (ajv does too).
  if (schema.maxLength !== undefined && [...text].length > Number(schema.maxLength)) problems.push(`${where} ${JSON.stringify(text)} is longer than ${schema.maxLength} characters`);
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(text)) problems.push(`${where} ${JSON.stringify(text)} does not match ${schema.pattern}`);
  return problems;
}

/** Problems of one reported value against its schema (scalar schemas only: api.yaml has no nested ones). */
export function valueProblems(value: ReportedValue, schema: Schema, where: string): string[] {
  const type = schema.type;
  if (type === 'string') return value.type === 'string' ? stringProblems(value.text, schema, where) : [`${where} is a ${value.type} (${value.text}), not a string`];
  if (type !== 'integer' && type !== 'number') return type === undefined || type === value.type ? [] : [`${where} is a ${value.type}, not a ${type}`];
  const decimal = value.type === 'integer' || value.type === 'number' ? parseDecimal(value.text) : null;
  if (decimal === null) return [`${where} is ${value.type} ${JSON.stringify(value.text)}, not a finite ${type}`];
  const problems: string[] = [];
  if (type === 'integer' && !isIntegral(decimal)) problems.push(`${where} ${value.text} is not an integer`);
  if (schema.maximum !== undefined && compareDecimals(decimal, boundOf(schema.maximum)) > 0) problems.push(`${where} ${value.text} is above the maximum ${schema.maximum}`);
  if (schema.minimum !== undefined && compareDecimals(decimal, boundOf(schema.minimum)) < 0) problems.push(`${where} ${value.text} is below the minimum ${schema.minimum}`);
  return problems;
}

/** Problems of an object's reported fields against an object schema: required fields, then each declared one. */
export function objectProblems(fields: Record<string, ReportedValue>, schema: Schema, where: string): string[] {
  const problems: string[] = [];
  for (const name of schema.required ?? []) if (!Object.hasOwn(fields, name)) problems.push(`${where}/${name} is required but missing`);
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const value = fields[name];
    if (value !== undefined) problems.push(...valueProblems(value, property, `${where}/${name}`));
  }
  return problems;
}

/** A string parameter as a reported value. */
export function textValue(text: string): ReportedValue {
  return { type: 'string', text };
}
