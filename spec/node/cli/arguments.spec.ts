import * as path from 'path';
import {
  outputFileForSeed,
  parseBackend,
  parseNonNegativeNumber,
  parsePositiveInteger,
  parseSeed,
  parseSeedList,
  resolveGenerateOptions,
  UsageError,
} from '../../../lib/node/cli/arguments';

describe('argument parsers', () => {
  test('parsePositiveInteger names the flag and the value', () => {
    expect(parsePositiveInteger('--steps', '50')).toBe(50);
    for (const bad of ['abc', '0', '-3', '2.5', '', '1e3', '99999999999999999999']) {
      expect(() => parsePositiveInteger('--steps', bad)).toThrow(new UsageError(`--steps: expected a positive integer, got ${JSON.stringify(bad)}`));
    }
  });

  test('parseNonNegativeNumber accepts 0 and fractions, refuses the rest', () => {
    expect(parseNonNegativeNumber('--eta', '0')).toBe(0);
    expect(parseNonNegativeNumber('--eta', '0.25')).toBe(0.25);
    for (const bad of ['-0.1', 'x', '', 'Infinity', 'NaN']) {
      expect(() => parseNonNegativeNumber('--eta', bad)).toThrow(`--eta: expected a number >= 0, got ${JSON.stringify(bad)}`);
    }
  });

  test("parseSeed keeps torch's full range exactly", () => {
    expect(parseSeed('--seed', '18446744073709551615')).toBe(2n ** 64n - 1n);
    expect(parseSeed('--seed', '-9223372036854775808')).toBe(-(2n ** 63n));
    expect(() => parseSeed('--seed', '18446744073709551616')).toThrow("--seed: seed \"18446744073709551616\" is outside torch's manual_seed range");
    expect(() => parseSeed('--seed', '1.5')).toThrow('--seed: expected an integer seed, got "1.5"');
  });

  test('parseSeedList reads ranges and lists in order', () => {
    expect([...parseSeedList('--seeds', '0-3,10, 7').seeds()]).toEqual([0n, 1n, 2n, 3n, 10n, 7n]);
    expect([...parseSeedList('--seeds', '5').seeds()]).toEqual([5n]);
    expect(() => parseSeedList('--seeds', '3-1')).toThrow('--seeds: range "3-1" ends before it starts');
    expect(() => parseSeedList('--seeds', '0-x')).toThrow('--seeds: expected seeds and ranges like "0-15" or "0,3,7-9", got "0-x"');
    // No cap: a range stays a range (the 50,000 seeds of an FID run cost one span), and a seed given twice is refused.
    expect(parseSeedList('--seeds', '0-49999').count).toBe(50000n);
    expect(parseSeedList('--seeds', '0-18446744073709551615').count).toBe(2n ** 64n);
    expect(() => parseSeedList('--seeds', '0-9,5')).toThrow('--seeds: seed 5 appears more than once in "0-9,5"');
  });

  test('parseBackend lists the known backends', () => {
    expect(parseBackend('--backend', 'wasm')).toBe('wasm');
    expect(() => parseBackend('--backend', 'cuda')).toThrow('--backend: expected one of cpu, wasm, webgl, webgpu, tfjs-node, tfjs-node-gpu, got "cuda"');
  });
});

describe('resolveGenerateOptions', () => {
  test('defaults mirror diffusers: seed 0, 50 steps, eta 0, batch 1, no file', () => {
    const { seeds, ...rest } = resolveGenerateOptions({});
    expect([...seeds.seeds()]).toEqual([0n]);
    expect(rest).toEqual({
      model: undefined,
      steps: 50,
      eta: 0,
      batch: 1,
      backend: undefined,
      threads: undefined,
      native: 'auto',
      output: { kind: 'none' },
      json: false,
      force: false,
    });
  });

  test('exclusive flags are refused together', () => {
    expect(() => resolveGenerateOptions({ seed: '1', seeds: '0-3' })).toThrow('--seed and --seeds: give one or the other');
    expect(() => resolveGenerateOptions({ out: 'a.png', outDir: 'd' })).toThrow('--out and --out-dir: give one or the other');
  });

  test('--out names one PNG for one run', () => {
    expect(resolveGenerateOptions({ out: 'x.png' }).output).toEqual({ kind: 'file', file: 'x.png' });
    expect(() => resolveGenerateOptions({ out: 'x.jpg' })).toThrow('--out: expected a file name ending in .png, got "x.jpg"');
    expect(() => resolveGenerateOptions({ out: 'x.png', seeds: '0-1' })).toThrow('--out: names one file but --seeds "0-1" gives 2 runs; use --out-dir');
  });

  test('--out-dir gives one seed<N>.png per run', () => {
    const options = resolveGenerateOptions({ outDir: 'imgs', seeds: '4,5' });
    expect([...options.seeds.seeds()].map((s) => outputFileForSeed(options, s))).toEqual([`imgs${path.sep}seed4.png`, `imgs${path.sep}seed5.png`]);
  });

  test('each numeric flag is checked', () => {
    expect(() => resolveGenerateOptions({ steps: 'abc' })).toThrow('--steps: expected a positive integer, got "abc"');
    expect(() => resolveGenerateOptions({ batch: '0' })).toThrow('--batch: expected a positive integer, got "0"');
    expect(() => resolveGenerateOptions({ eta: '-1' })).toThrow('--eta: expected a number >= 0, got "-1"');
    expect(() => resolveGenerateOptions({ model: ' ' })).toThrow('--model: expected a folder or a Hub id');
  });
});
