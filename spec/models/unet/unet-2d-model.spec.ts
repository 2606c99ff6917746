import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../../lib/node/backends/set-backend';
import { UNet2DModel } from '../../../lib/models/unet/unet-2d-model';
import { describeEachBackend } from '../../helpers/backends';
import { fixturePath, maxAbsDiff } from '../../helpers/fixtures';
import { activeTestBackend, parityBound, reportParity } from '../../helpers/tolerances';
import { nchwValues, nhwcFromFixture, tinyFixture, TraceStats } from './unet-fixture';

// Forward parity against PyTorch float32: the bound is spec/helpers/tolerances.ts's tinyForward figure for the
// backend (MARGIN × the measured worst error; torch's own float32 result lies ~1.1e-6 from float64,
// spec/fixtures/tolerance.json).
describeEachBackend('UNet2DModel tiny forward parity', (backend, label) => {
  const FORWARD_TOLERANCE = parityBound('tinyForward', label);
  const fixture = tinyFixture();
  let unet: UNet2DModel;
  const worst: Record<string, number> = {};

  beforeAll(async () => {
    unet = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
  });
  afterAll(() => {
    unet?.dispose();
    const max = Math.max(...Object.values(worst));
    console.log(`UNet2DModel tiny parity on ${backend}: worst max abs diff ${max.toExponential(2)}`, worst);
  });

  test('has the parameter count of the fixture', () => {
    expect(unet.countParams()).toBe(fixture.num_parameters);
  });

  for (const c of tinyFixture().cases) {
    test(`${c.id}: t=${JSON.stringify(c.timestep)} within ${FORWARD_TOLERANCE} of PyTorch`, async () => {
      const sample = nhwcFromFixture(c.sample);
      const out = unet.predict(sample, c.timestep);
      expect(out.shape).toEqual([c.sample.shape[0], c.sample.shape[2], c.sample.shape[3], c.sample.shape[1]]);
      const diff = maxAbsDiff(await nchwValues(out), c.output.data);
      worst[c.id] = diff;
      reportParity(`tiny forward ${c.id}`, label, diff, FORWARD_TOLERANCE);
      tf.dispose([sample, out]);
      expect(diff).toBeLessThan(FORWARD_TOLERANCE);
    });
  }

  test('the old-keys checkpoint (query/key/value/proj_attn) gives the same output', async () => {
    const c = fixture.cases.find((k) => k.id === 'tiny_seed0_t500')!;
    const old = await UNet2DModel.fromPretrained(fixturePath('tiny-unet-oldkeys'));
    const sample = nhwcFromFixture(c.sample);
    const [a, b] = [unet.predict(sample, 500), old.predict(sample, 500)];
    // the same weights after renaming: the same computation, bit for bit
    expect(maxAbsDiff(await a.data(), await b.data())).toBe(0);
    expect(maxAbsDiff(await nchwValues(b), c.output.data)).toBeLessThan(FORWARD_TOLERANCE);
    tf.dispose([sample, a, b]);
    old.dispose();
  });

  test('per-block trace matches debug_trace_seed0_t500', async () => {
    const trace = fixture.debug_trace_seed0_t500;
    const c = fixture.cases.find((k) => k.id === 'tiny_seed0_t500')!;
    const sample = nhwcFromFixture(c.sample);
    const outputs = unet.trace(sample, 500);
    // The full time projection and embedding: float32 sin/cos/exp differ from PyTorch's SLEEF kernels by at most
    // an ulp or two of the angle, i.e. ~1e-6 after the MLP.
    expect(maxAbsDiff(await outputs.get('time_proj')!.data(), trace.time_proj_full.data)).toBeLessThan(1e-6);
    expect(maxAbsDiff(await outputs.get('time_embedding')!.data(), trace.time_embedding_full.data)).toBeLessThan(1e-6);
    const compared: string[] = [];
    const failures: string[] = [];
    for (const [name, stats] of Object.entries(trace) as [string, TraceStats][]) {
      if (name.endsWith('_full') || name === 'conv_norm_out') continue; // conv_norm_out is fused with conv_act here
      const out = outputs.get(name);
      if (out === undefined) throw new Error(`trace has no point ${name}`);
      const values = await nchwValues(out);
      const nchwShape = out.rank === 4 ? [out.shape[0], out.shape[3], out.shape[1], out.shape[2]] : out.shape;
      expect({ name, shape: nchwShape }).toEqual({ name, shape: stats.shape });
      let sum = 0;
      let absSum = 0;
      let min = Infinity;
      let max = -Infinity;
      for (const v of values) {
        sum += v;
        absSum += Math.abs(v);
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      // Bounds implied by a per-element error e = FORWARD_TOLERANCE: first values, min, max and mean within e,
      // sums within n·e. The first failing point (in network order) is where the port departs.
      const e = FORWARD_TOLERANCE;
      const n = values.length;
      const checks: [string, number, number][] = [
        ['first8', maxAbsDiff(values.subarray(0, 8), stats.first8), e],
        ['min', Math.abs(min - stats.min), e],
        ['max', Math.abs(max - stats.max), e],
        ['mean', Math.abs(sum / n - stats.mean), e],
        ['sum', Math.abs(sum - stats.sum), n * e],
        ['abs_sum', Math.abs(absSum - stats.abs_sum), n * e],
      ];
      for (const [what, diff, bound] of checks) {
        if (!(diff < bound)) failures.push(`${name}: ${what} differs by ${diff} (bound ${bound})`);
      }
      compared.push(name);
    }
    expect(failures).toEqual([]);
    expect(compared.length).toBeGreaterThanOrEqual(25);
    tf.dispose([sample, ...outputs.values()]);
  });
});

describe('UNet2DModel.predict inputs', () => {
  let unet: UNet2DModel;
  let sample: tf.Tensor4D;

  beforeAll(async () => {
    await setBackend('wasm');
    unet = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
    sample = nhwcFromFixture(tinyFixture().cases.find((k) => k.id === 'tiny_batch2_seed2')!.sample);
  });
  afterAll(() => {
    sample?.dispose();
    unet?.dispose();
  });

  async function outputs(t: Parameters<UNet2DModel['predict']>[1]): Promise<Float32Array> {
    const out = unet.predict(sample, t);
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  }

  test('a number, [t], [t, t], a scalar tensor and a [N] tensor are the same timesteps', async () => {
    const reference = await outputs([250, 250]);
    for (const t of [250, [250], tf.scalar(250), tf.tensor1d([250, 250]), tf.tensor1d([250], 'int32')]) {
      expect(maxAbsDiff(await outputs(t), reference)).toBe(0);
      if (t instanceof tf.Tensor) t.dispose();
    }
  });

  test('per-sample timesteps: each row equals a batch-of-one call', async () => {
    const batched = await outputs([10, 990]);
    const half = batched.length / 2;
    for (const [row, t] of [[0, 10], [1, 990]] as const) {
      const one = tf.slice(sample, [row, 0, 0, 0], [1, 32, 32, 3]);
      const out = unet.predict(one, t);
      // same math per sample; only the conv/matmul blocking of XNNPACK may differ with the batch size
      expect(maxAbsDiff(await out.data(), batched.subarray(row * half, (row + 1) * half))).toBeLessThan(1e-5);
      tf.dispose([one, out]);
    }
  });

  test('a model folder with only the PyTorch .bin (old key names) loads and matches PyTorch', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unet-bin-'));
    try {
      for (const f of ['config.json', 'diffusion_pytorch_model.bin']) fs.copyFileSync(fixturePath('tiny-unet-oldkeys', f), path.join(dir, f));
      const fromBin = await UNet2DModel.fromPretrained(dir);
      const c = tinyFixture().cases.find((k) => k.id === 'tiny_seed0_t999')!;
      const x = nhwcFromFixture(c.sample);
      const [a, b] = [unet.predict(x, 999), fromBin.predict(x, 999)];
      expect(maxAbsDiff(await a.data(), await b.data())).toBe(0); // the same float32 weights
      expect(maxAbsDiff(await nchwValues(b), c.output.data)).toBeLessThan(parityBound('tinyForward', activeTestBackend()));
      tf.dispose([x, a, b]);
      fromBin.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad inputs fail with errors that say what was expected', () => {
    const nchw = tf.zeros([1, 3, 32, 32]) as tf.Tensor4D;
    expect(() => unet.predict(nchw, 1)).toThrow(/sampleNHWC must be \[N, H, W, 3\] \(NHWC\), got shape \[1, 3, 32, 32\] with 32 channels; it looks NCHW/);
    const rank3 = tf.zeros([32, 32, 3]);
    expect(() => unet.predict(rank3 as unknown as tf.Tensor4D, 1)).toThrow(/must be \[N, H, W, 3\] \(NHWC\), got shape \[32, 32, 3\]/);
    const odd = tf.zeros([1, 20, 32, 3]) as tf.Tensor4D;
    expect(() => unet.predict(odd, 1)).toThrow(/height 20 and width 32 must be positive multiples of 8/);
    const ints = tf.zeros([1, 32, 32, 3], 'int32') as tf.Tensor4D;
    expect(() => unet.predict(ints, 1)).toThrow(/must be float32, got int32/);
    expect(() => unet.predict(sample, [1, 2, 3])).toThrow(/got 3 timesteps for a batch of 2; pass one value or 2/);
    expect(() => unet.predict(sample, NaN)).toThrow(/timestep must be a finite number, got NaN/);
    const t2d = tf.zeros([2, 1]);
    expect(() => unet.predict(sample, t2d)).toThrow(/a timestep tensor must be a scalar or \[N\], got shape \[2, 1\]/);
    tf.dispose([nchw, rank3, odd, ints, t2d]);
  });

  test('other sizes divisible by 2^(blocks-1) run, non-square included', () => {
    const x = tf.randomNormal([1, 16, 40, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const out = unet.predict(x, 3);
    expect(out.shape).toEqual([1, 16, 40, 3]);
    tf.dispose([x, out]);
  });

  test('no tensor leaks from predict', () => {
    const before = tf.memory().numTensors;
    tf.dispose(unet.predict(sample, [1, 2]));
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a disposed model refuses to run', async () => {
    const other = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
    other.dispose();
    expect(() => other.predict(sample, 1)).toThrow(/UNet2DModel\.predict: the model has been disposed/);
  });
});
