import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { FIXTURES_DIR } from './helpers/fixtures';

/** Files of spec/fixtures that are not golden data, so SHA256SUMS does not list them. */
const NOT_HASHED = new Set(['README.md', 'SHA256SUMS']);

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

/** `sha256sum` format: 64 hex digits, two spaces, `./relative/path`. */
function readSums(): Map<string, string> {
  const sums = new Map<string, string>();
  const lines = fs.readFileSync(path.join(FIXTURES_DIR, 'SHA256SUMS'), 'utf8').split('\n').filter((l) => l !== '');
  for (const [i, line] of lines.entries()) {
    const m = /^([0-9a-f]{64}) {2}\.\/(.+)$/.exec(line);
    if (m === null) throw new Error(`spec/fixtures/SHA256SUMS line ${i + 1} is not "<sha256>  ./<path>": ${JSON.stringify(line)}`);
    if (sums.has(m[2])) throw new Error(`spec/fixtures/SHA256SUMS lists ${m[2]} twice`);
    sums.set(m[2], m[1]);
  }
  return sums;
}

describe('spec/fixtures/SHA256SUMS', () => {
  const sums = readSums();

  test('lists every fixture file, and nothing that is not there', () => {
    const files = listFiles(FIXTURES_DIR).filter((f) => !NOT_HASHED.has(f)).sort();
    expect([...sums.keys()].sort()).toEqual(files);
  });

  test.each([...sums.keys()].sort())('%s has its listed sha256', (file) => {
    const actual = createHash('sha256').update(fs.readFileSync(path.join(FIXTURES_DIR, file))).digest('hex');
    expect(actual).toBe(sums.get(file));
  });
});
