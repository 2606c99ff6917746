import * as fs from 'fs';
import * as path from 'path';

/** The golden-data array convention of spec/fixtures/README.md. */
export interface FixtureArray {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int64';
  data: number[];
}

export const FIXTURES_DIR = path.join(__dirname, '..', 'fixtures');

const cache = new Map<string, unknown>();

/** Parses spec/fixtures/<name> once per test file. */
export function loadFixture<T = any>(name: string): T {
  if (!cache.has(name)) {
    cache.set(name, JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, name), 'utf8')));
  }
  return cache.get(name) as T;
}

export function fixturePath(...parts: string[]): string {
  return path.join(FIXTURES_DIR, ...parts);
}

/** Largest |a[i] - b[i]|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
