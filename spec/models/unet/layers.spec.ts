import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Attention } from '../../../lib/models/unet/layers/attention';
import { Downsample2D } from '../../../lib/models/unet/layers/downsample-2d';
import { GroupNorm } from '../../../lib/models/unet/layers/group-norm';
import { groupNormBroadcast, groupNormPerChannel } from '../../../lib/models/unet/ops/group-norm-op';
import { ResnetBlock2D } from '../../../lib/models/unet/layers/resnet-block-2d';
import { TimestepsLayer } from '../../../lib/models/unet/layers/timesteps';
import { Upsample2D } from '../../../lib/models/unet/layers/upsample-2d';
import { describeEachBackend } from '../../helpers/backends';
import { maxAbsDiff } from '../../helpers/fixtures';
import { tinyFixture } from './unet-fixture';

// Float64 reference implementations on plain arrays, written from the PyTorch definitions, NHWC.
// float32 vs float64 on these small inputs: ~1e-6 relative; 1e-5 absolute leaves room for tfjs' summation orders.
const TOLERANCE = 1e-5;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}
const randomArray = (n: number, seed: number, scale = 1, offset = 0) => {
  const r = lcg(seed);
  return Float32Array.from({ length: n }, () => offset + scale * r());
};

function refGroupNorm(x: Float32Array, [n, h, w, c]: number[], gamma: Float32Array, beta: Float32Array, groups: number, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  const cg = c / groups;
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      const idx: number[] = [];
      for (let p = 0; p < h * w; p++) for (let k = 0; k < cg; k++) idx.push((b * h * w + p) * c + g * cg + k);
      const mean = idx.reduce((s, i) => s + x[i], 0) / idx.length;
      const variance = idx.reduce((s, i) => s + (x[i] - mean) ** 2, 0) / idx.length;
      for (const i of idx) out[i] = ((x[i] - mean) / Math.sqrt(variance + eps)) * gamma[i % c] + beta[i % c];
    }
  }
  return out;
}

/** y[n, pixel, :] = x[n, pixel, :] · W (W as [in, out]) + b */
function refLinear(x: Float64Array, rows: number, w: Float32Array, b: Float32Array, cin: number, cout: number): Float64Array {
  const y = new Float64Array(rows * cout);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < cout; o++) {
      let s = b[o];
      for (let i = 0; i < cin; i++) s += x[r * cin + i] * w[i * cout + o];
      y[r * cout + o] = s;
    }
  }
  return y;
}

function refConv(x: Float32Array, [n, h, w, cin]: number[], k: Float32Array, b: Float32Array, kernel: number, cout: number, stride: number, padTop: number, padLeft: number, outH: number, outW: number): Float64Array {
  const y = new Float64Array(n * outH * outW * cout);
  for (let bb = 0; bb < n; bb++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++)
        for (let o = 0; o < cout; o++) {
          let s = b[o];
          for (let ky = 0; ky < kernel; ky++)
            for (let kx = 0; kx < kernel; kx++) {
              const iy = oy * stride + ky - padTop;
              const ix = ox * stride + kx - padLeft;
              if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
              for (let i = 0; i < cin; i++) s += x[((bb * h + iy) * w + ix) * cin + i] * k[((ky * kernel + kx) * cin + i) * cout + o];
            }
          y[((bb * outH + oy) * outW + ox) * cout + o] = s;
        }
  return y;
}

function setWeights(layer: tfl.layers.Layer, values: Record<string, Float32Array>): void {
  for (const v of layer.weights) {
    const local = v.originalName.slice(v.originalName.indexOf('/') + 1);
    const data = values[local];
    if (data === undefined) throw new Error(`test sets no value for ${local}`);
    const t = tf.tensor(data, v.shape as number[]);
    v.write(t);
    t.dispose();
  }
}

describeEachBackend('UNet layers against float64 references', () => {
  test('GroupNorm: both formulations, batch 2, against the definition', async () => {
    const shape = [2, 4, 6, 12];
    const x = randomArray(2 * 4 * 6 * 12, 1, 3, 0.7); // a mean far from 0 tests the two-pass variance
    const gamma = randomArray(12, 2, 0.5, 1);
    const beta = randomArray(12, 3, 0.5);
    const expected = refGroupNorm(x, shape, gamma, beta, 3, 1e-6);
    const [xt, g, b] = [tf.tensor4d(x, shape as [number, number, number, number]), tf.tensor1d(gamma), tf.tensor1d(beta)];
    for (const fn of [groupNormBroadcast, groupNormPerChannel]) {
      const y = fn(xt, g, b, 3, 1e-6);
      expect(maxAbsDiff(await y.data(), expected)).toBeLessThan(TOLERANCE);
      y.dispose();
    }
    const layer = new GroupNorm({ groups: 3, epsilon: 1e-6, silu: true, name: 'norm' });
    layer.apply(xt); // build
    setWeights(layer, { weight: gamma, bias: beta });
    const y = layer.apply(xt) as tf.Tensor;
    const withSilu = expected.map((v) => v / (1 + Math.exp(-v)));
    expect(maxAbsDiff(await y.data(), withSilu)).toBeLessThan(TOLERANCE);
    tf.dispose([xt, g, b, y]);
    layer.dispose();
  });

  test('Attention with 2 heads and a batch of 2 against the definition', async () => {
    const [n, h, w, c, heads, groups] = [2, 3, 4, 8, 2, 2];
    const x = randomArray(n * h * w * c, 4);
    const values: Record<string, Float32Array> = {
      'group_norm.weight': randomArray(c, 5, 0.2, 1),
      'group_norm.bias': randomArray(c, 6, 0.2),
    };
    ['to_q', 'to_k', 'to_v', 'to_out.0'].forEach((p, i) => {
      values[`${p}.weight`] = randomArray(c * c, 10 + i, 0.5);
      values[`${p}.bias`] = randomArray(c, 20 + i, 0.1);
    });
    const normed = refGroupNorm(x, [n, h, w, c], values['group_norm.weight'], values['group_norm.bias'], groups, 1e-6);
    const rows = n * h * w;
    const [q, k, v] = ['to_q', 'to_k', 'to_v'].map((p) => refLinear(normed, rows, values[`${p}.weight`], values[`${p}.bias`], c, c));
    const d = c / heads;
    const attended = new Float64Array(rows * c);
    const hw = h * w;
    for (let b = 0; b < n; b++)
      for (let head = 0; head < heads; head++)
        for (let i = 0; i < hw; i++) {
          const scores = Array.from({ length: hw }, (_, j) => {
            let s = 0;
            for (let e = 0; e < d; e++) s += q[(b * hw + i) * c + head * d + e] * k[(b * hw + j) * c + head * d + e];
            return s / Math.sqrt(d);
          });
          const max = Math.max(...scores);
          const exps = scores.map((s) => Math.exp(s - max));
          const total = exps.reduce((a, e) => a + e, 0);
          for (let e = 0; e < d; e++) {
            let s = 0;
            for (let j = 0; j < hw; j++) s += (exps[j] / total) * v[(b * hw + j) * c + head * d + e];
            attended[(b * hw + i) * c + head * d + e] = s;
          }
        }
    const projected = refLinear(attended, rows, values['to_out.0.weight'], values['to_out.0.bias'], c, c);
    const rescale = 2; // exercises rescale_output_factor
    const expected = projected.map((p, i) => (p + x[i]) / rescale);

    const layer = new Attention({ heads, normNumGroups: groups, eps: 1e-6, rescaleOutputFactor: rescale, name: 'attn' });
    const xt = tf.tensor4d(x, [n, h, w, c]);
    tf.dispose(layer.apply(xt) as tf.Tensor);
    setWeights(layer, values);
    const y = layer.apply(xt) as tf.Tensor;
    expect(maxAbsDiff(await y.data(), expected)).toBeLessThan(TOLERANCE);
    // one sample at a time gives the same rows (attention never mixes samples)
    const first = tf.slice(xt, [0, 0, 0, 0], [1, h, w, c]);
    const y0 = layer.apply(first) as tf.Tensor;
    expect(maxAbsDiff(await y0.data(), (await y.data()).subarray(0, hw * c))).toBeLessThan(1e-6);
    tf.dispose([xt, y, first, y0]);
    layer.dispose();
  });

  test('Downsample2D: padding 0 pads right/bottom only, padding 1 both sides; Upsample2D: nearest ×2 then conv', async () => {
    const [n, h, w, c, cout] = [1, 6, 4, 3, 2];
    const x = randomArray(n * h * w * c, 7);
    const values = { 'conv.weight': randomArray(9 * c * cout, 8, 0.5), 'conv.bias': randomArray(cout, 9, 0.1) };
    const xt = tf.tensor4d(x, [n, h, w, c]);
    for (const padding of [0, 1] as const) {
      const layer = new Downsample2D({ outChannels: cout, padding, name: `down${padding}` });
      tf.dispose(layer.apply(xt) as tf.Tensor);
      setWeights(layer, values);
      const y = layer.apply(xt) as tf.Tensor;
      expect(y.shape).toEqual([1, 3, 2, cout]);
      expect(layer.computeOutputShape([null, h, w, c])).toEqual([null, 3, 2, cout]);
      const expected = refConv(x, [n, h, w, c], values['conv.weight'], values['conv.bias'], 3, cout, 2, padding, padding, 3, 2);
      expect(maxAbsDiff(await y.data(), expected)).toBeLessThan(TOLERANCE);
      tf.dispose(y);
      layer.dispose();
    }
    const up = new Upsample2D({ outChannels: cout, name: 'up' });
    tf.dispose(up.apply(xt) as tf.Tensor);
    setWeights(up, values);
    const y = up.apply(xt) as tf.Tensor;
    expect(y.shape).toEqual([1, 12, 8, cout]);
    const nearest = new Float32Array(n * 2 * h * 2 * w * c);
    for (let yy = 0; yy < 2 * h; yy++)
      for (let xx = 0; xx < 2 * w; xx++)
        for (let i = 0; i < c; i++) nearest[(yy * 2 * w + xx) * c + i] = x[(Math.floor(yy / 2) * w + Math.floor(xx / 2)) * c + i];
    const expected = refConv(nearest, [n, 2 * h, 2 * w, c], values['conv.weight'], values['conv.bias'], 3, cout, 1, 1, 1, 2 * h, 2 * w);
    expect(maxAbsDiff(await y.data(), expected)).toBeLessThan(TOLERANCE);
    tf.dispose([xt, y]);
    up.dispose();
  });

  test('ResnetBlock2D with a shortcut conv, output_scale_factor and per-sample time embeddings', async () => {
    const [n, h, w, cin, cout, tdim, groups] = [2, 4, 4, 4, 6, 5, 2];
    const x = randomArray(n * h * w * cin, 30);
    const temb = randomArray(n * tdim, 31);
    const values: Record<string, Float32Array> = {
      'norm1.weight': randomArray(cin, 32, 0.2, 1),
      'norm1.bias': randomArray(cin, 33, 0.2),
      'conv1.weight': randomArray(9 * cin * cout, 34, 0.4),
      'conv1.bias': randomArray(cout, 35, 0.1),
      'time_emb_proj.weight': randomArray(tdim * cout, 36, 0.4),
      'time_emb_proj.bias': randomArray(cout, 37, 0.1),
      'norm2.weight': randomArray(cout, 38, 0.2, 1),
      'norm2.bias': randomArray(cout, 39, 0.2),
      'conv2.weight': randomArray(9 * cout * cout, 40, 0.4),
      'conv2.bias': randomArray(cout, 41, 0.1),
      'conv_shortcut.weight': randomArray(cin * cout, 42, 0.4),
      'conv_shortcut.bias': randomArray(cout, 43, 0.1),
    };
    const silu = (v: number) => v / (1 + Math.exp(-v));
    const f32 = (a: Float64Array) => Float32Array.from(a);
    const h1 = refGroupNorm(x, [n, h, w, cin], values['norm1.weight'], values['norm1.bias'], groups, 1e-6).map(silu);
    const c1 = refConv(f32(h1), [n, h, w, cin], values['conv1.weight'], values['conv1.bias'], 3, cout, 1, 1, 1, h, w);
    const t = refLinear(Float64Array.from(temb, silu), n, values['time_emb_proj.weight'], values['time_emb_proj.bias'], tdim, cout);
    const withT = c1.map((v, i) => v + t[Math.floor(i / (h * w * cout)) * cout + (i % cout)]);
    const h2 = refGroupNorm(f32(withT), [n, h, w, cout], values['norm2.weight'], values['norm2.bias'], groups, 1e-6).map(silu);
    const c2 = refConv(f32(h2), [n, h, w, cout], values['conv2.weight'], values['conv2.bias'], 3, cout, 1, 1, 1, h, w);
    const shortcut = refConv(x, [n, h, w, cin], values['conv_shortcut.weight'], values['conv_shortcut.bias'], 1, cout, 1, 0, 0, h, w);
    const expected = c2.map((v, i) => (v + shortcut[i]) / 0.5);

    const layer = new ResnetBlock2D({ outChannels: cout, groups, eps: 1e-6, outputScaleFactor: 0.5, name: 'res' });
    const [xt, tt] = [tf.tensor4d(x, [n, h, w, cin]), tf.tensor2d(temb, [n, tdim])];
    tf.dispose(layer.apply([xt, tt]) as tf.Tensor);
    setWeights(layer, values);
    const y = layer.apply([xt, tt]) as tf.Tensor;
    expect(maxAbsDiff(await y.data(), expected)).toBeLessThan(TOLERANCE);
    // batch 1 takes the fused-bias path for the time embedding: same rows
    const [x0, t0] = [tf.slice(xt, [1, 0, 0, 0], [1, h, w, cin]), tf.slice(tt, [1, 0], [1, tdim])];
    const y1 = layer.apply([x0, t0]) as tf.Tensor;
    expect(maxAbsDiff(await y1.data(), expected.subarray(h * w * cout))).toBeLessThan(TOLERANCE);
    tf.dispose([xt, tt, y, x0, t0, y1]);
    layer.dispose();
  });

  test('Timesteps: [sin, cos] or [cos, sin], odd widths zero-padded, against the float64 definition', async () => {
    // diffusers' get_timestep_embedding in float64: f_i = exp(−ln(10⁴) · i / (half − shift)), emb = [sin(t·f), cos(t·f)].
    // The port (like torch) computes in float32: the exponent carries ≤ 3 roundings (≤ 9.3 · 3 · 2^-24 absolute),
    // so t·f is off by ≤ t · max_x(x·e^-x) · 1.7e-6 + 2^-24 · t·f, i.e. ≤ 1.2e-7 · t; 1e-6 + 2e-7 · t bounds it.
    const times = [0, 3, 999.5];
    const t = tf.tensor1d(times);
    for (const [numChannels, flip, shift] of [[8, false, 1], [8, true, 0], [7, false, 1]] as const) {
      const layer = new TimestepsLayer({ numChannels, flipSinToCos: flip, downscaleFreqShift: shift, name: 'tp' });
      const y = layer.apply(t) as tf.Tensor;
      expect(y.shape).toEqual([3, numChannels]);
      const values = await y.data();
      const half = Math.floor(numChannels / 2);
      times.forEach((tv, row) => {
        const angles = Array.from({ length: half }, (_, i) => tv * Math.exp((-Math.log(10000) * i) / (half - shift)));
        const expected = [...(flip ? angles.map(Math.cos) : angles.map(Math.sin)), ...(flip ? angles.map(Math.sin) : angles.map(Math.cos))];
        if (numChannels % 2) expected.push(0);
        expect(maxAbsDiff(values.subarray(row * numChannels, (row + 1) * numChannels), expected)).toBeLessThan(1e-6 + 2e-7 * tv);
      });
      y.dispose();
    }
    t.dispose();
  });

  test('Timesteps against torch: the tiny fixture time_proj at t = 500 (unet_tiny.json, debug_trace_seed0_t500)', async () => {
    // Same float32 steps as torch; sin/cos of the same float32 angles differ by float32 rounding (≤ 1 ulp, 6e-8).
    const expected = tinyFixture().debug_trace_seed0_t500.time_proj_full;
    const layer = new TimestepsLayer({ numChannels: 16, flipSinToCos: false, downscaleFreqShift: 1, name: 'tp' });
    const t = tf.tensor1d([500]);
    const y = layer.apply(t) as tf.Tensor;
    expect(maxAbsDiff(await y.data(), expected.data)).toBeLessThan(2.5e-7);
    tf.dispose([t, y]);
  });
});
