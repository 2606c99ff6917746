import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '../../lib/random/generator';
import { randn } from '../../lib/random/randn';
import { randnTensor, randnTensorValues } from '../../lib/random/randn-tensor';
import { describeEachBackend } from '../helpers/backends';
import { float32BitMismatches, randnFixture, RandnTensorListCase, RandnTensorSingleCase } from './randn-fixture';

const listCase = (): RandnTensorListCase =>
  randnFixture().cases.find((c): c is RandnTensorListCase => c.kind === 'randn_tensor_generator_list')!;
const singleCase = (): RandnTensorSingleCase =>
  randnFixture().cases.find((c): c is RandnTensorSingleCase => c.kind === 'randn_tensor_single_generator')!;

async function float32Data(t: tf.Tensor): Promise<Float32Array> {
  expect(t.dtype).toBe('float32');
  return (await t.data()) as Float32Array;
}

describeEachBackend('randnTensor', (backend) => {
  test(`${backend}: a generator list draws (1, ...rest) per generator = diffusers randn_tensor`, async () => {
    const c = listCase();
    const t = randnTensor(c.shape, { generator: c.seeds.map((s) => new Generator().manualSeed(s)) });
    expect(tf.getBackend()).toBe(backend);
    expect(t.shape).toEqual(c.shape);
    expect(float32BitMismatches(await float32Data(t), c.output.data)).toEqual([]);
    t.dispose();
  });

  test(`${backend}: a single generator draws the whole batch as one stream`, async () => {
    const c = singleCase();
    const t = randnTensor(c.shape, { generator: new Generator().manualSeed(c.seed) });
    expect(float32BitMismatches(await float32Data(t), c.output.data)).toEqual([]);
    t.dispose();
  });

  test(`${backend}: layout NHWC is torch's NCHW draw, transposed`, async () => {
    const c = listCase();
    const [n, ch, h, w] = c.shape;
    const t = randnTensor(c.shape, { generator: c.seeds.map((s) => new Generator().manualSeed(s)), layout: 'NHWC' });
    expect(t.shape).toEqual([n, h, w, ch]);
    const data = await float32Data(t);
    const expected = new Float32Array(data.length);
    for (let b = 0; b < n; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let k = 0; k < ch; k++)
            expected[((b * h + y) * w + x) * ch + k] = c.output.data[((b * ch + k) * h + y) * w + x];
    expect(float32BitMismatches(data, expected)).toEqual([]);
    t.dispose();
  });

  test(`${backend}: float64 draws are rounded to a float32 tensor`, async () => {
    const t = randnTensor([2, 3, 4, 4], { generator: new Generator().manualSeed(0), dtype: 'float64' });
    const f64 = randn([2, 3, 4, 4], { generator: new Generator().manualSeed(0), dtype: 'float64' });
    expect(float32BitMismatches(await float32Data(t), Float32Array.from(f64))).toEqual([]);
    t.dispose();
  });
});

describe('randnTensor generator lists (spec/fixtures/randn.json checks)', () => {
  test('list_equals_concat_of_per_seed_randn, single_batch_elem0_equals_list_elem0, single_batch_equals_list_batch', () => {
    const c = listCase();
    const [n, ...rest] = c.shape;
    const per = rest.reduce((a, b) => a * b, 1);
    const list = randnTensorValues(c.shape, { generator: c.seeds.map((s) => new Generator().manualSeed(s)) });
    const concat = new Float32Array(n * per);
    c.seeds.forEach((s, b) => concat.set(randn([1, ...rest], { generator: new Generator().manualSeed(s) }), b * per));
    expect(float32BitMismatches(list, concat).length === 0).toBe(c.checks.list_equals_concat_of_per_seed_randn);
    const single = randnTensorValues(c.shape, { generator: new Generator().manualSeed(c.seeds[0]) });
    expect(float32BitMismatches(single.subarray(0, per), list.subarray(0, per)).length === 0).toBe(
      c.checks.single_batch_elem0_equals_list_elem0,
    );
    expect(float32BitMismatches(single, list).length === 0).toBe(c.checks.single_batch_equals_list_batch);
  });

  test('each generator of a list advances by its own element only', () => {
    const gens = [new Generator().manualSeed(7), new Generator().manualSeed(8)];
    randnTensorValues([2, 16], { generator: gens });
    const after = gens.map((g) => randn([16], { generator: g }));
    const ref = [7, 8].map((s) => {
      const g = new Generator().manualSeed(s);
      randn([1, 16], { generator: g });
      return randn([16], { generator: g });
    });
    expect(float32BitMismatches(after[0], ref[0])).toEqual([]);
    expect(float32BitMismatches(after[1], ref[1])).toEqual([]);
  });
});

describe('randnTensor input checks', () => {
  const g = () => new Generator().manualSeed(0);
  test('a list whose length differs from shape[0]', () => {
    expect(() => randnTensor([3, 4], { generator: [g(), g()] })).toThrow(
      /list of 2 generators for a batch of shape\[0\]=3 \(shape \[3, 4\]\)/,
    );
    expect(() => randnTensor([3, 4], { generator: [] })).toThrow(/list of 0 generators/);
    expect(() => randnTensor([], { generator: [g()] })).toThrow(/shape is \[\]/);
  });
  test('bad generator arguments', () => {
    expect(() => randnTensor([2, 4], { generator: [g(), 42 as unknown as Generator] })).toThrow(
      /generator\[1\] must be a Generator, got number 42/,
    );
    expect(() => randnTensor([2, 4], { generator: 'seed' as unknown as Generator })).toThrow(
      /generator must be a Generator or an array of Generators, got string "seed"/,
    );
  });
  test('bad shapes, dtypes and layouts', () => {
    expect(() => randnTensor([1, -3])).toThrow(/randnTensor: shape\[1\]=-1|randnTensor: shape\[1\]=-3/);
    expect(() => randnTensor([1e5, 1e5])).toThrow(/randnTensor: shape \[100000, 100000\] has 10000000000 elements, too large/);
    expect(() => randnTensor([2], { dtype: 'int32' as 'float32' })).toThrow(/randnTensor: dtype="int32"/);
    expect(() => randnTensor([1, 3, 8, 8], { layout: 'CHW' as 'NCHW' })).toThrow(/randnTensor: layout="CHW"/);
    expect(() => randnTensor([3, 8, 8], { layout: 'NHWC' })).toThrow(/layout 'NHWC' needs a rank-4 NCHW shape \[N, C, H, W\], got \[3, 8, 8\]/);
  });
});
