import * as fs from 'fs';
import * as path from 'path';

let cached: string | undefined;

/**
 * This package's version, from its package.json (two levels above lib/node/ and dist/node/ alike), read once.
 *
 * ```ts
 * packageVersion(); // '0.1.0'
 * ```
 */
export function packageVersion(): string {
  if (cached === undefined) {
    const file = path.resolve(__dirname, '..', '..', 'package.json');
    cached = String((JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown }).version ?? 'unknown');
  }
  return cached;
}
