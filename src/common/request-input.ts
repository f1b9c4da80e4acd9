import { isUtf8 } from 'node:buffer';
import type { FieldProblem } from './problem';

/**
 * Bounds on what a request may carry, checked before validation and before any query. They are
 * far above anything the API's own fields need (the DTOs hold the real limits) and low enough
 * that no input can overflow the stack in class-transformer, or make Postgres refuse a value.
 */
export const INPUT_LIMITS = {
  /** Nesting of objects and arrays in a JSON body. */
  maxDepth: 32,
  /** Items in one JSON array. */
  maxArrayItems: 1_000,
  /** Keys of one JSON object. */
  maxObjectKeys: 1_000,
  /** Characters of one string in a body. */
  maxBodyString: 65_536,
  /** Characters of one query value. */
  maxQueryString: 2_048,
  /** Characters of one path parameter (names are DNS labels, ids UUIDs; 253 is a DNS name). */
  maxPathParam: 253,
} as const;

/**
 * Keys that name an object's machinery rather than data. They are refused like any other
 * unknown field, rather than dropped silently by the whitelist.
 */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** NUL (Postgres text cannot hold it) and lone UTF-16 surrogates (not Unicode text at all). */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with one string, or null. */
export function stringProblem(field: string, value: string, maxLength: number): FieldProblem | null {
  if (UNSTORABLE.test(value))
    return { field, message: `${field} must be text without NUL characters or broken Unicode` };
  if (value.length > maxLength) return { field, message: `${field} must be at most ${maxLength} characters` };
  return null;
}

const childPath = (parent: string, key: string | number) =>
  typeof key === 'number' ? `${parent}[${key}]` : parent === '' ? key : `${parent}.${key}`;

/**
 * Walks a parsed JSON body without recursion (so depth itself cannot overflow the stack) and
 * returns the first problems found: depth, array and object sizes, reserved keys, unstorable or
 * over-long strings. Stops at the first bound exceeded: past it, the rest is not worth reading.
 */
export function bodyProblems(body: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: body, path: '', depth: 0 }];
  while (stack.length > 0 && problems.length < 20) {
    const { value, path, depth } = stack.pop()!;
    const field = path === '' ? 'body' : path;
    if (typeof value === 'string') {
      const problem = stringProblem(field, value, INPUT_LIMITS.maxBodyString);
      if (problem) problems.push(problem);
      continue;
    }
    // JSON has no Infinity, but `1e400` parses to it; stored in jsonb (addon values, labels) it
    // would turn into null without a word, and no field of the API means "infinite".
    if (typeof value === 'number' && !Number.isFinite(value)) {
      problems.push({ field, message: `${field} is a number too large to hold` });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= INPUT_LIMITS.maxDepth) {
      return [
        { field, message: `the body nests objects and arrays deeper than ${INPUT_LIMITS.maxDepth} levels` },
      ];
    }
    if (Array.isArray(value)) {
      if (value.length > INPUT_LIMITS.maxArrayItems) {
        return [{ field, message: `${field} has more than ${INPUT_LIMITS.maxArrayItems} items` }];
      }
      value.forEach((item, i) => stack.push({ value: item, path: childPath(path, i), depth: depth + 1 }));
      continue;
    }
    const keys = Object.keys(value);
    if (keys.length > INPUT_LIMITS.maxObjectKeys) {
      return [{ field, message: `${field} has more than ${INPUT_LIMITS.maxObjectKeys} keys` }];
    }
    for (const key of keys) {
      const keyField = childPath(path, key);
      const keyProblem = stringProblem('a key', key, 256);
      if (keyProblem) {
        problems.push({
          field: path === '' ? 'body' : path,
          message: `a key of ${field}: ${keyProblem.message}`,
        });
        continue;
      }
      if (RESERVED_KEYS.has(key)) {
        problems.push({ field: keyField, message: `${keyField} is not a known field` });
        continue;
      }
      stack.push({ value: (value as Record<string, unknown>)[key], path: keyField, depth: depth + 1 });
    }
  }
  return problems;
}

/** Percent-decodes to bytes (never throws), so that invalid UTF-8 can be told from valid text. */
function percentBytes(raw: string): Buffer {
  const bytes: number[] = [];
  const text = Buffer.from(raw.replace(/\+/g, ' '), 'latin1');
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === 0x25 && i + 2 < text.length ? text.subarray(i + 1, i + 3).toString('latin1') : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(text[i]);
  }
  return Buffer.from(bytes);
}

/**
 * Problems in the raw query string. Express decodes invalid UTF-8 into U+FFFD silently, so the
 * raw bytes are checked here, before anything uses the decoded values.
 */
export function queryProblems(url: string): FieldProblem[] {
  const start = url.indexOf('?');
  if (start < 0) return [];
  const problems: FieldProblem[] = [];
  for (const pair of url.slice(start + 1).split('&')) {
    if (pair === '') continue;
    const [rawKey, ...rest] = pair.split('=');
    const keyBytes = percentBytes(rawKey);
    const field = isUtf8(keyBytes) ? keyBytes.toString('utf8') : 'query';
    const valueBytes = percentBytes(rest.join('='));
    if (!isUtf8(keyBytes) || !isUtf8(valueBytes)) {
      problems.push({ field, message: `${field} must be valid UTF-8` });
      continue;
    }
    const problem =
      stringProblem(field, field, 256) ??
      stringProblem(field, valueBytes.toString('utf8'), INPUT_LIMITS.maxQueryString);
    if (problem) problems.push(problem);
  }
  return problems;
}

/** Problems in route parameters (already decoded by the router), named by the parameter. */
export function paramProblems(params: Record<string, unknown> | undefined): FieldProblem[] {
  return Object.entries(params ?? {}).flatMap(([name, value]) => {
    if (typeof value !== 'string') return [];
    const problem = stringProblem(name, value, INPUT_LIMITS.maxPathParam);
    return problem ? [problem] : [];
  });
}
