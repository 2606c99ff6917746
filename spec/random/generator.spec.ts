import { DEFAULT_SEED, Generator, GeneratorState } from '../../lib/random/generator';
import { randn } from '../../lib/random/randn';
import { float32BitMismatches } from './randn-fixture';

const draw = (g: Generator, n = 40): Float32Array => randn([n], { generator: g });
const same = (a: Float32Array, b: Float32Array): boolean => float32BitMismatches(a, b).length === 0;

describe('Generator seeding', () => {
  test("a new Generator has torch's default seed 67280421310721", () => {
    const g = new Generator();
    expect(g.initialSeed()).toBe(67280421310721n);
    expect(DEFAULT_SEED).toBe(67280421310721n);
    expect(same(draw(g), draw(new Generator().manualSeed('67280421310721')))).toBe(true);
  });

  test('manualSeed accepts numbers, bigints and strings for the same seed, and returns this', () => {
    const g = new Generator();
    expect(g.manualSeed(12345)).toBe(g);
    const a = draw(g);
    expect(same(a, draw(new Generator().manualSeed(12345n)))).toBe(true);
    expect(same(a, draw(new Generator().manualSeed('12345')))).toBe(true);
    expect(same(a, draw(new Generator().manualSeed(' +12345 ')))).toBe(true);
    expect(same(a, draw(new Generator().manualSeed('0x3039')))).toBe(true);
  });

  test('negative seeds are taken mod 2^64, as initialSeed() shows; only the low 32 bits reach MT19937', () => {
    expect(new Generator().manualSeed(-1).initialSeed()).toBe(2n ** 64n - 1n);
    expect(new Generator().manualSeed(-(2n ** 63n)).initialSeed()).toBe(2n ** 63n);
    expect(new Generator().manualSeed('18446744073709551615').initialSeed()).toBe(2n ** 64n - 1n);
    expect(same(draw(new Generator().manualSeed(2n ** 64n - 1n)), draw(new Generator().manualSeed(-1)))).toBe(true);
    expect(same(draw(new Generator().manualSeed(2 ** 32 + 5)), draw(new Generator().manualSeed(5)))).toBe(true);
    expect(new Generator().manualSeed(2 ** 32 + 5).initialSeed()).toBe(4294967301n);
  });

  test.each<[unknown, RegExp]>([
    [1.5, /seed=1.5 is not an integer/],
    [NaN, /seed=NaN is not an integer/],
    [Infinity, /seed=Infinity is not an integer/],
    [2 ** 60, /seed=1152921504606847000 is beyond Number.MAX_SAFE_INTEGER.*bigint \(1152921504606846976n\)/],
    [2n ** 64n, /seed=18446744073709551616 is out of range \[-2\^63, 2\^64-1\]/],
    [-(2n ** 63n) - 1n, /seed=-9223372036854775809 is out of range/],
    ['18446744073709551616', /seed=18446744073709551616 is out of range/],
    ['abc', /seed="abc" is not a decimal/],
    ['', /seed="" is not a decimal/],
    ['1e3', /seed="1e3" is not a decimal/],
    ['1.0', /seed="1.0" is not a decimal/],
    [null, /seed must be a number, bigint or string, got object null/],
    [undefined, /seed must be a number, bigint or string, got undefined/],
    [{}, /got object an object/],
  ])('manualSeed(%p) fails naming the value', (seed, message) => {
    expect(() => new Generator().manualSeed(seed as number)).toThrow(message);
    expect(() => new Generator().manualSeed(seed as number)).toThrow(/^Generator\.manualSeed: /);
  });

  test('seed() seeds non-deterministically with 53 bits and returns the seed', () => {
    const g = new Generator();
    const s = g.seed();
    expect(typeof s).toBe('bigint');
    expect(s >= 0n && s < 2n ** 53n).toBe(true);
    expect(g.initialSeed()).toBe(s);
    expect(same(draw(g), draw(new Generator().manualSeed(s)))).toBe(true);
    // Two 53-bit random seeds coincide with probability 2^-53.
    expect(new Generator().seed()).not.toBe(new Generator().seed());
  });
});

describe('Generator state', () => {
  test('getState/setState round trip replays the stream, through JSON too', () => {
    const g = new Generator().manualSeed(42);
    draw(g, 1000);
    const saved = g.getState();
    const a = draw(g, 100);
    g.setState(saved);
    expect(same(draw(g, 100), a)).toBe(true);
    const restored = new Generator().setState(JSON.parse(JSON.stringify(saved)) as GeneratorState);
    expect(restored.initialSeed()).toBe(42n);
    expect(same(draw(restored, 100), a)).toBe(true);
  });

  test('the cached normal of the serial path is part of the state', () => {
    const g = new Generator().manualSeed(1);
    randn([3], { generator: g, dtype: 'float64' }); // two pairs: leaves r·sin θ of the second pair cached
    const saved = g.getState();
    expect(typeof saved.nextDoubleNormal).toBe('number');
    const next = randn([5], { generator: g, dtype: 'float64' });
    const fromJson = new Generator().setState(JSON.parse(JSON.stringify(saved)) as GeneratorState);
    expect(Array.from(randn([5], { generator: fromJson, dtype: 'float64' }))).toEqual(Array.from(next));
    // Without the cache the continuation differs: it is really carried by the snapshot.
    const noCache = new Generator().setState({ ...saved, nextDoubleNormal: null });
    expect(Array.from(randn([5], { generator: noCache, dtype: 'float64' }))).not.toEqual(Array.from(next));
  });

  test('manualSeed clears the cached normal', () => {
    const g = new Generator().manualSeed(3);
    randn([1], { generator: g });
    expect(g.getState().nextDoubleNormal).not.toBeNull();
    g.manualSeed(3);
    expect(g.getState().nextDoubleNormal).toBeNull();
  });

  test('clone() is independent of the original', () => {
    const g = new Generator().manualSeed(9);
    randn([5], { generator: g }); // leaves a cached normal, which the clone must copy
    const c = g.clone();
    const fromClone = draw(c, 100);
    draw(c, 100);
    const fromOriginal = draw(g, 100);
    expect(same(fromClone, fromOriginal)).toBe(true);
    expect(c.initialSeed()).toBe(9n);
  });

  test('setState rejects malformed snapshots, naming the field', () => {
    const good = new Generator().manualSeed(0).getState();
    const g = new Generator();
    expect(() => g.setState(null as unknown as GeneratorState)).toThrow(/state must be an object from getState\(\), got null/);
    expect(() => g.setState({ ...good, version: 2 as 1 })).toThrow(/state.version=2 is not supported/);
    expect(() => g.setState({ ...good, mt: good.mt.slice(1) })).toThrow(/state.mt must be an array of 624 words, got 623 entries/);
    expect(() => g.setState({ ...good, mt: [...good.mt.slice(1), -1] })).toThrow(/state.mt\[623\]=-1 is not an integer/);
    expect(() => g.setState({ ...good, index: 700 })).toThrow(/state.index=700/);
    expect(() => g.setState({ ...good, seed: 'x' })).toThrow(/state.seed: seed="x"/);
    expect(() => g.setState({ ...good, nextDoubleNormal: 'a' as unknown as number })).toThrow(/state.nextDoubleNormal="a"/);
    // A failed setState leaves the generator as it was.
    expect(g.initialSeed()).toBe(DEFAULT_SEED);
  });
});
