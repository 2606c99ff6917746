// The shared bounded helpers: parseBoundedJson, describeValue, readRegularFile / readJsonFile on ordinary
// inputs (the hostile ones run in child processes in hostile-inputs.spec.ts).
import * as fs from 'fs';
import * as path from 'path';
import { BoundedJsonError, parseBoundedJson } from '../../lib/io/bounded-json';
import { describeValue } from '../../lib/io/describe-value';
import { FileReadError, readJsonFile, readRegularFile } from '../../lib/node/fs/read-file';
import { tempDir } from './hostile/run-hostile';
import { errorOf } from '../helpers/errors';

describe('parseBoundedJson', () => {
  test('parses what JSON.parse parses, within the limits; brackets inside strings do not count', () => {
    expect(parseBoundedJson('{"a": [1, {"b": "[[[[{{{{\\\\\\"]]]"}]}', 'x.json', { maxDepth: 3 })).toEqual({ a: [1, { b: '[[[[{{{{\\"]]]' }] });
    expect(parseBoundedJson('[[1]]', 'x.json', { maxDepth: 2 })).toEqual([[1]]);
    expect(parseBoundedJson('"__proto__"', 'x.json')).toBe('__proto__');
  });

  test('depth, value count and syntax errors are BoundedJsonErrors naming the file and position', () => {
    const deep = errorOf(() => parseBoundedJson('[[[1]]]', 'cfg.json', { maxDepth: 2 }));
    expect(deep).toBeInstanceOf(BoundedJsonError);
    expect(deep.message).toBe('cfg.json: JSON nested deeper than 2 levels (at character 2)');
    expect(errorOf(() => parseBoundedJson('[1,2,3,4]', 'cfg.json', { maxValues: 3 })).message).toBe('cfg.json: JSON with more than 3 values (at character 4)');
    const syntax = errorOf(() => parseBoundedJson('{"a":', 'cfg.json'));
    expect(syntax).toBeInstanceOf(BoundedJsonError);
    expect(syntax.message).toMatch(/^cfg\.json: not valid JSON: /);
  });
});

describe('describeValue', () => {
  test('JSON-like, short values as JSON.stringify writes them', () => {
    expect(describeValue({ shape: [16, -1], s: 'x', n: null })).toBe('{"shape":[16,-1],"s":"x","n":null}');
    expect(describeValue(new Map<unknown, unknown>([['a', 1n]]))).toBe('{"a":1}');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(new Uint8Array(3))).toBe('<3 bytes>');
  });

  test('bounded: a long string, a wide array, a deep nesting and a DAG of 2^60 leaves all give at most maxChars', () => {
    let dag: unknown[] = [];
    for (let i = 0; i < 60; i++) dag = [dag, dag];
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    for (const value of ['x'.repeat(1e6), new Array(1e5).fill(1), deep, dag]) {
      const text = describeValue(value, { maxChars: 50 });
      expect(text.length).toBeLessThanOrEqual(50);
      expect(text.endsWith('...')).toBe(true);
    }
  });
});

describe('readRegularFile and readJsonFile', () => {
  let tmp: { dir: string; remove: () => void };
  beforeAll(() => {
    tmp = tempDir('read-file-');
  });
  afterAll(() => tmp.remove());

  test('reads a regular file whole (and an empty one); refuses one over the cap before reading', () => {
    const file = path.join(tmp.dir, 'w.bin');
    fs.writeFileSync(file, Buffer.from([1, 2, 3]));
    expect([...readRegularFile(file, { maxBytes: 3 })]).toEqual([1, 2, 3]);
    const empty = path.join(tmp.dir, 'empty.bin');
    fs.writeFileSync(empty, '');
    expect(readRegularFile(empty, { maxBytes: 0 }).length).toBe(0);
    const tooBig = errorOf(() => readRegularFile(file, { maxBytes: 2 }));
    expect(tooBig).toBeInstanceOf(FileReadError);
    expect((tooBig as FileReadError).problem).toBe('too-large');
    expect(tooBig.message).toBe(`${file}: is 3 bytes, over the limit of 2 bytes for this file: refused`);
  });

  test('readJsonFile: JSON within the limits; not UTF-8 or not JSON is a BoundedJsonError naming the file', () => {
    const good = path.join(tmp.dir, 'config.json');
    fs.writeFileSync(good, '{"sample_size": 32}');
    expect(readJsonFile(good)).toEqual({ sample_size: 32 });
    const latin1 = path.join(tmp.dir, 'latin1.json');
    fs.writeFileSync(latin1, Buffer.from([0x22, 0xe9, 0x22]));
    expect(errorOf(() => readJsonFile(latin1)).message).toBe(`${latin1}: is not valid UTF-8 text`);
    const bad = path.join(tmp.dir, 'bad.json');
    fs.writeFileSync(bad, '{');
    expect(errorOf(() => readJsonFile(bad))).toBeInstanceOf(BoundedJsonError);
  });
});
