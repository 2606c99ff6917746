/**
 * JSON from untrusted files with stated bounds: nesting depth and number of values are checked by a linear scan
 * before `JSON.parse` runs, so a deeply nested document gives a {@link BoundedJsonError} naming the file and the
 * position instead of a bare `RangeError` (stack overflow), and a document of millions of tiny values is refused
 * before it becomes millions of objects. Pure (no fs): the checkpoint readers and the config parsers share it.
 *
 * ```ts
 * parseBoundedJson('{"a": [1, 2]}', 'config.json');              // { a: [1, 2] }
 * parseBoundedJson('['.repeat(1e5), 'config.json');             // throws BoundedJsonError: nested deeper than 64 levels
 * ```
 */

export interface JsonLimits {
  /** Deepest nesting of objects and arrays (the top-level value is depth 1). */
  maxDepth: number;
  /** Most values: one, plus one for each `{`, `[` and `,` outside strings (an upper bound on the objects and
   * arrays JSON.parse would build, and on their members but the first of each). */
  maxValues: number;
  /** Longest object key, in characters: V8 hashes a string of more than 16,383 characters by its length alone, so
   * an object of many such keys makes JSON.parse quadratic (see MAX_NAME_CHARS in reader-limits.ts). */
  maxKeyChars: number;
}

import { MAX_JSON_DEPTH, MAX_JSON_VALUES, MAX_NAME_CHARS } from './reader-limits';

/** Defaults for small configuration files (a diffusers config has depth ≤ 3 and a few hundred values). */
export const DEFAULT_JSON_LIMITS: Readonly<JsonLimits> = { maxDepth: MAX_JSON_DEPTH, maxValues: MAX_JSON_VALUES, maxKeyChars: MAX_NAME_CHARS };

/** A JSON document that is malformed or over a limit; `detail` is the message without the file name. */
export class BoundedJsonError extends Error {
  constructor(
    /** The file (or other source) the text came from. */
    readonly source: string,
    readonly detail: string,
    /** Character offset of the problem, when known. */
    readonly position?: number,
  ) {
    super(`${source}: ${detail}`);
    this.name = 'BoundedJsonError';
  }
}

/**
 * Parses `text` as JSON after checking it against `limits` (defaults: {@link DEFAULT_JSON_LIMITS}). Throws a
 * {@link BoundedJsonError} naming `source` for a limit or a syntax error; never a bare `RangeError`.
 */
export function parseBoundedJson(text: string, source: string, limits: Partial<JsonLimits> = {}): unknown {
  const { maxDepth, maxValues, maxKeyChars } = { ...DEFAULT_JSON_LIMITS, ...limits };
  let depth = 0;
  let values = 1;
  let inString = false;
  let stringStart = 0;
  /** Length (in UTF-16 units of the source, escapes included: an upper bound) of the last string closed. */
  let lastStringChars = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) {
        inString = false;
        lastStringChars = i - stringStart - 1;
      }
      continue;
    }
    if (c === 0x22) {
      inString = true;
      stringStart = i;
    } else if (c === 0x3a) {
      // A colon outside strings follows an object key.
      if (lastStringChars > maxKeyChars) {
        throw new BoundedJsonError(source, `JSON object key of more than ${maxKeyChars} characters (at character ${stringStart})`, stringStart);
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++values > maxValues) {
        throw new BoundedJsonError(source, `JSON with more than ${maxValues} values (at character ${i})`, i);
      }
      if (++depth > maxDepth) {
        throw new BoundedJsonError(source, `JSON nested deeper than ${maxDepth} levels (at character ${i})`, i);
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2c) {
      if (++values > maxValues) {
        throw new BoundedJsonError(source, `JSON with more than ${maxValues} values (at character ${i})`, i);
      }
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BoundedJsonError(source, `not valid JSON: ${(err as Error).message}`);
  }
}
