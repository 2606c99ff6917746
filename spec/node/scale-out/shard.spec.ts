import fc from 'fast-check';
import { parseSeedList } from '../../../lib/node/cli/arguments';
import { SeedList, SeedSpan, SpanCollector } from '../../../lib/node/scale-out/seed-range';
import { parseManifestFileName, manifestFileName, resolveShard, shardBlock, shardSeeds } from '../../../lib/node/scale-out/shard';
import { effectiveSeedsPerForward, resolveScaleOutOptions } from '../../../lib/node/cli/scale-out-options';
import { resolveGenerateOptions } from '../../../lib/node/cli/arguments';

/** Disjoint spans in a shuffled order: what a `--seeds` list like `40-49,0-9,20` holds. */
const disjointSpans = fc
  .array(fc.tuple(fc.nat(20), fc.nat(20)), { minLength: 1, maxLength: 6 })
  .chain((pairs) => {
    let next = 0n;
    const spans: SeedSpan[] = pairs.map(([gap, length]) => {
      const from = next + BigInt(gap);
      next = from + BigInt(length) + 1n;
      return { from, to: from + BigInt(length) };
    });
    return fc.shuffledSubarray(spans, { minLength: spans.length, maxLength: spans.length });
  });

function expand(spans: readonly SeedSpan[]): bigint[] {
  const seeds: bigint[] = [];
  for (const s of spans) for (let x = s.from; x <= s.to; x++) seeds.push(x);
  return seeds;
}

describe('SeedList: ranges kept as ranges', () => {
  test('seeds(start, end), slice and positionOf agree with the expanded list', () => {
    fc.assert(
      fc.property(disjointSpans, fc.nat(200), fc.nat(200), (spans, a, b) => {
        const list = new SeedList(spans);
        const all = expand(spans);
        expect(list.count).toBe(BigInt(all.length));
        const [start, end] = a <= b ? [a, b] : [b, a];
        expect([...list.seeds(BigInt(start), BigInt(end))]).toEqual(all.slice(start, end));
        expect([...list.slice(BigInt(start), BigInt(end)).seeds()]).toEqual(all.slice(start, end));
        all.forEach((seed, i) => expect(list.positionOf(seed)).toBe(BigInt(i)));
        expect(list.positionOf(-1n)).toBeUndefined();
        expect(list.findOverlap()).toBeUndefined();
      }),
    );
  });

  test('a 2^64-seed range costs one span; overlaps are found without expanding', () => {
    const huge = parseSeedList('--seeds', '0-18446744073709551615');
    expect(huge.spans).toHaveLength(1);
    expect([...huge.seeds(2n ** 64n - 2n)]).toEqual([2n ** 64n - 2n, 2n ** 64n - 1n]);
    expect(new SeedList([{ from: 0n, to: 10n ** 18n }, { from: 5n, to: 5n }]).findOverlap()?.seed).toBe(5n);
  });

  test('SpanCollector names sorted seeds as the fewest ranges, and cuts long lists', () => {
    const c = new SpanCollector();
    [1n, 2n, 3n, 7n, 9n, 10n].forEach((s) => c.add(s));
    expect(c.describe()).toBe('1-3,7,9-10');
    expect(c.describe(2)).toBe('1-3,7,… (6 seeds in all)');
  });
});

describe('shardBlock: the seed → shard assignment', () => {
  test('blocks are contiguous, cover every position once, in order, and differ in size by at most one', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: 1, max: 64 }), (total, count) => {
        let previousEnd = 0n;
        let min = total;
        let max = 0n;
        for (let i = 0; i < count; i++) {
          const { start, end } = shardBlock(total, i, count);
          expect(start).toBe(previousEnd);
          expect(end).toBeGreaterThanOrEqual(start);
          previousEnd = end;
          if (end - start < min) min = end - start;
          if (end - start > max) max = end - start;
        }
        expect(previousEnd).toBe(total);
        expect(max - min).toBeLessThanOrEqual(1n);
      }),
    );
  });

  test('shardSeeds of every shard, concatenated, is the list itself (any spans, any N)', () => {
    fc.assert(
      fc.property(disjointSpans, fc.integer({ min: 1, max: 12 }), (spans, count) => {
        const list = new SeedList(spans);
        const joined = Array.from({ length: count }, (_, index) => [...shardSeeds(list, { index, count }).seeds()]).flat();
        expect(joined).toEqual(expand(spans));
      }),
    );
  });

  test('the documented examples: 0-9 on 4 shards; 0-49999 on 4 shards never expands', () => {
    const ten = parseSeedList('--seeds', '0-9');
    expect([0, 1, 2, 3].map((index) => shardSeeds(ten, { index, count: 4 }).toString())).toEqual(['0-1', '2-4', '5-6', '7-9']);
    expect(shardSeeds(parseSeedList('--seeds', '0-49999'), { index: 3, count: 4 }).toString()).toBe('37500-49999');
    expect(shardSeeds(parseSeedList('--seeds', '0-2'), { index: 4, count: 6 }).count).toBe(0n);
  });

  test('bad shard arguments name what was passed', () => {
    expect(() => shardBlock(10n, 4, 4)).toThrow('shardBlock: index=4 must be an integer in [0, 3]');
    expect(() => shardBlock(10n, 0, 0)).toThrow('shardBlock: count=0 must be a positive integer');
  });

  test('manifest names round-trip, and other names are not manifests', () => {
    expect(manifestFileName({ index: 3, count: 16 })).toBe('manifest-3-of-16.jsonl');
    expect(parseManifestFileName('manifest-3-of-16.jsonl')).toEqual({ index: 3, count: 16 });
    for (const other of ['manifest.jsonl', 'manifest-4-of-4.jsonl', 'manifest-1-of-4.jsonl.tmp', 'x-manifest-1-of-4.jsonl']) {
      expect(parseManifestFileName(other)).toBeUndefined();
    }
  });
});

describe('resolveShard: flags and scheduler environments', () => {
  test('--shard I/N; JOB_COMPLETION_INDEX with --shards N; neither: the whole list', () => {
    expect(resolveShard({ shard: '2/8' }, {})).toMatchObject({ index: 2, count: 8 });
    expect(resolveShard({ shards: '4' }, { JOB_COMPLETION_INDEX: '3' })).toMatchObject({ index: 3, count: 4, source: 'JOB_COMPLETION_INDEX=3 with --shards 4' });
    // --shard wins over the environment: a user can run one shard by hand inside a pod.
    expect(resolveShard({ shard: '0/2' }, { JOB_COMPLETION_INDEX: '3' })).toMatchObject({ index: 0, count: 2 });
    expect(resolveShard({}, {})).toBeUndefined();
  });

  test('refusals name the flag or variable and its value', () => {
    expect(() => resolveShard({ shard: '4/4' }, {})).toThrow('--shard: expected I/N with 0 <= I < N, got "4/4"');
    expect(() => resolveShard({ shard: 'a/b' }, {})).toThrow('--shard: expected I/N like 0/4');
    expect(() => resolveShard({ shard: '0/2', shards: '2' }, {})).toThrow('--shard and --shards: give one or the other');
    expect(() => resolveShard({ shards: '4' }, { JOB_COMPLETION_INDEX: '4' })).toThrow('JOB_COMPLETION_INDEX=4 is not below --shards 4');
    expect(() => resolveShard({ shards: '4' }, { JOB_COMPLETION_INDEX: 'x' })).toThrow('JOB_COMPLETION_INDEX must be a whole number >= 0, got "x"');
    expect(() => resolveShard({ shards: '4' }, {})).toThrow('--shards 4 needs JOB_COMPLETION_INDEX');
    expect(() => resolveShard({ shards: '0' }, {})).toThrow('--shards: expected a positive integer, got "0"');
    expect(() => resolveShard({}, { JOB_COMPLETION_INDEX: '0', SLURM_ARRAY_TASK_ID: '0' })).toThrow('both JOB_COMPLETION_INDEX=0 and SLURM_ARRAY_TASK_ID=0 are set');
  });

  test('Slurm: ids from MIN with a STEP are numbered (ID - MIN) / STEP; other arrays are refused', () => {
    const slurm = (id: number, min: number, max: number, count: number, step?: number) => ({
      SLURM_ARRAY_TASK_ID: String(id),
      SLURM_ARRAY_TASK_MIN: String(min),
      SLURM_ARRAY_TASK_MAX: String(max),
      SLURM_ARRAY_TASK_COUNT: String(count),
      ...(step === undefined ? {} : { SLURM_ARRAY_TASK_STEP: String(step) }),
    });
    expect(resolveShard({}, slurm(0, 0, 15, 16))).toMatchObject({ index: 0, count: 16 });
    expect(resolveShard({}, slurm(8, 1, 8, 8))).toMatchObject({ index: 7, count: 8 }); // --array=1-8
    expect(resolveShard({}, slurm(30, 0, 30, 4, 10))).toMatchObject({ index: 3, count: 4 }); // --array=0-30:10
    expect(resolveShard({ shards: '4' }, slurm(30, 0, 30, 4, 10))).toMatchObject({ index: 3, count: 4 });
    expect(() => resolveShard({ shards: '5' }, slurm(30, 0, 30, 4, 10))).toThrow('--shards 5 disagrees with SLURM_ARRAY_TASK_COUNT=4');
    expect(() => resolveShard({}, slurm(3, 1, 10, 3))).toThrow("this Slurm array's task ids are not one range"); // --array=1,3,10
    expect(() => resolveShard({}, slurm(5, 0, 30, 4, 10))).toThrow("this Slurm array's task ids are not one range");
    expect(() => resolveShard({}, { SLURM_ARRAY_TASK_ID: '2' })).toThrow('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX are not all set');
  });
});

describe('resolveScaleOutOptions: --resume, --seeds-per-forward', () => {
  const base = (raw: Parameters<typeof resolveGenerateOptions>[0]) => resolveGenerateOptions(raw);

  test('resume is the default under a shard with --out-dir, off otherwise; --no-resume and --force turn it off', () => {
    const dir = { seeds: '0-9', outDir: 'out' };
    expect(resolveScaleOutOptions(base(dir), dir, {}).resume).toBe(false);
    expect(resolveScaleOutOptions(base(dir), { ...dir, shard: '0/2' }, {}).resume).toBe(true);
    expect(resolveScaleOutOptions(base(dir), { ...dir, shards: '2' }, { JOB_COMPLETION_INDEX: '1' }).resume).toBe(true);
    expect(resolveScaleOutOptions(base(dir), { ...dir, shard: '0/2', resume: false }, {}).resume).toBe(false);
    expect(resolveScaleOutOptions(base({ ...dir, force: true }), { ...dir, force: true, shard: '0/2' }, {}).resume).toBe(false);
    expect(resolveScaleOutOptions(base(dir), { ...dir, resume: true }, {}).resume).toBe(true);
  });

  test('refusals: --resume with --force or without --out-dir; K > 1 with --batch > 1; a shard with --out', () => {
    const forced = { seeds: '0-9', outDir: 'out', force: true, resume: true };
    expect(() => resolveScaleOutOptions(base(forced), forced, {})).toThrow('--resume and --force: give one or the other');
    expect(() => resolveScaleOutOptions(base({ seeds: '0-9' }), { seeds: '0-9', resume: true }, {})).toThrow('--resume: needs --out-dir');
    const batched = { seeds: '0-9', batch: '4', seedsPerForward: '8' };
    expect(() => resolveScaleOutOptions(base(batched), batched, {})).toThrow('--seeds-per-forward 8 with --batch 4');
    expect(() => resolveScaleOutOptions(base({ out: 'a.png' }), { out: 'a.png', shard: '0/2' }, {})).toThrow('--out: names one file but this process runs shard 0/2');
    expect(() => resolveScaleOutOptions(base({}), { seedsPerForward: '0' }, {})).toThrow('--seeds-per-forward: expected a positive integer, got "0"');
  });

  test('K seeds per forward only on a batch-invariant backend; elsewhere 1, with a warning', () => {
    const warnings: string[] = [];
    expect(effectiveSeedsPerForward(8, 'wasm', (m) => warnings.push(m))).toBe(8);
    expect(warnings).toEqual([]);
    expect(effectiveSeedsPerForward(8, 'cpu', (m) => warnings.push(m))).toBe(8);
    expect(effectiveSeedsPerForward(8, 'tfjs-node', (m) => warnings.push(m))).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('the tfjs-node backend is not known to be batch-invariant');
  });
});
