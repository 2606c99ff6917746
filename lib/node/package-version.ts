import * as fs from 'fs';
import * as path from 'path';

let cached: { name: string; version: string } | undefined;

/**
 * This package's name and version, from its package.json (two levels above lib/node/ and dist/node/ alike), read once.
 *
 * ```ts
 * packageInfo(); // { name: 'tfjs-diffusers', version: '0.1.0' }
 * ```
 */
export function packageInfo(): { name: string; version: string } {
  if (cached === undefined) {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    cached = { name: String(pkg.name ?? 'tfjs-diffusers'), version: String(pkg.version ?? 'unknown') };
  }
  return cached;
}

/** This package's version (what `tfjs-diffusers --version` prints). */
export function packageVersion(): string {
  return packageInfo().version;
}
