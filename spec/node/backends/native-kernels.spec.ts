import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../../lib/node/backends/set-backend';
import {
  disableNativeKernels,
  enableNativeKernels,
  groupNormNative,
  loadNativeAddon,
  nativeKernelsEnabled,
  nativeKernelsStatus,
  nativeKernelUsage,
  resetNativeKernelUsage,
} from '../../../lib/node/backends/native';
import type { NativeKernelUsage } from '../../../lib/node/backends/native';
import { wasmBackendInternals, wasmHeapBytes } from '../../../lib/backends/wasm-internals';
import { autoWasmThreads, wasmBackendInfo } from '../../../lib/node/backends/wasm-threads';
import { groupNormBroadcast as groupNormNHWC } from '../../../lib/models/unet/ops/group-norm-op';
import { silu } from '../../../lib/models/unet/layers/activations';
import { kernelPath } from '../../../lib/node/cli/run-environment';
import { ADDON_ENV, ISA_ENV } from '../../../lib/node/backends/native/addon';

const MUTATE_ENV = 'TFJS_DIFFUSERS_NATIVE_MUTATE';
import { runIsolated } from '../../helpers/run-isolated';
import { maxAbs, maxAbsDiff } from '../../helpers/fixtures';
import { testBackendUnavailableReason } from '../../helpers/backends';
import { describeNotRun } from '../../helpers/not-run';

// Native (tfjsd-kernels, native/src) against tfjs' own wasm (XNNPACK) kernels. Both sum float32 products, in different
// orders (ours: one fused multiply-add chain per output in k order; XNNPACK: multiply then add), so the difference
// stays near sqrt(K) * 2^-24 relative to the output's scale. Measured worst on AMD EPYC Zen 3 (AVX2 kernels; every
// ISA gives the same bits): 1.8e-6 of the largest |output| (the 8x8 256->256 conv). Bound: 1e-5, 5.6x that.
const RELATIVE_TOLERANCE = 1e-5;
// The 3x3 convolutions the addon runs as Winograd F(4x4, 3x3) (>= 16x16 output, >= 64 channels, multiples of 16):
// the input transform scales values by up to ~5 per dimension and the output transform subtracts the products back
// down, so rounding grows with the channel count (Lavin & Gray 2016; native/src/kernels_impl.h). Measured worst (same
// machine): 5.6e-6 of the largest |output| (32x32 384->128; the transforms in float64); with the oneDNN-based kernels
// before: 5.8e-6. Bound 3e-5, ~5x the worst. A wrong transform coefficient is off by O(1).
const WINOGRAD_RELATIVE_TOLERANCE = 3e-5;
// GroupNorm: the native kernel accumulates its statistics in double, tfjs' `moments` in float32 (two passes); the
// difference is float32 rounding of the mean and variance: measured worst 6.5e-7 relative ([1,32,32,128] + SiLU).
const GROUP_NORM_TOLERANCE = 1e-5;

const status = nativeKernelsStatus();

type Op = () => tf.Tensor;

interface PathResults {
  plain: Float32Array;
  native: Float32Array;
  usage: NativeKernelUsage;
  relative: number;
}

/** The values `op` computes, its intermediate and output tensors freed. */
async function valuesOf(op: Op): Promise<Float32Array> {
  const out = tf.tidy(op);
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return values;
}

/** Runs `op` with the original wasm kernels, then with the native ones; the usage counters of the native run. */
async function bothPaths(op: Op): Promise<PathResults> {
  disableNativeKernels();
  const plain = await valuesOf(op);
  expect(enableNativeKernels()).toBe(true);
  resetNativeKernelUsage();
  const native = await valuesOf(op);
  return { plain, native, usage: nativeKernelUsage(), relative: maxAbsDiff(plain, native) / Math.max(maxAbs(plain), 1e-30) };
}

const rand = (shape: number[], seed: number, scale = 1): tf.Tensor => tf.randomNormal(shape, 0, scale, 'float32', seed);

/** A fused conv on NHWC input with an HWIO filter scaled like the UNet's (1/sqrt(fan_in)). */
function conv(
  inShape: [number, number, number, number],
  filter: [number, number, number, number],
  opts: { strides?: 1 | 2; pad?: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]]; bias?: boolean; activation?: tf.fused.Activation; dilations?: number } = {},
): Op {
  return () =>
    tf.fused.conv2d({
      x: rand(inShape, 1) as tf.Tensor4D,
      filter: rand(filter, 2, 1 / Math.sqrt(filter[0] * filter[1] * filter[2])) as tf.Tensor4D,
      bias: opts.bias === false ? undefined : rand([filter[3]], 3, 0.1),
      strides: opts.strides ?? 1,
      pad: opts.pad ?? 'same',
      activation: opts.activation ?? 'linear',
      leakyreluAlpha: 0.2,
      dilations: opts.dilations ?? 1,
    });
}

function describeNative(): void {
  const worst: Record<string, number> = {};
  beforeAll(async () => {
    await setBackend('wasm', { native: true });
  });
  afterAll(() => {
    console.log('native vs wasm kernels, worst |diff| / max |out|:', worst);
    tf.removeBackend('wasm');
  });

  describe('the same bits on every ISA, thread count and batch (child processes: the ISA is read at load)', () => {
    const child = path.join(__dirname, 'native-isa-child.ts');
    // The bundled child finds the addon through TFJS_DIFFUSERS_NATIVE (its bundle lives in a temporary folder).
    const addonFile = (): string => loadNativeAddon().path!;
    interface IsaReport {
      info: { isa: string; mutation: string; threads: number };
      hashes: Record<string, Record<string, string>>;
      batchVariant: string[];
    }
    const reports = new Map<string, IsaReport>();
    const inFreshProcess = (env: Record<string, string | undefined>): IsaReport => {
      const key = JSON.stringify(env);
      const cached = reports.get(key);
      if (cached !== undefined) return cached;
      const names = [ADDON_ENV, ISA_ENV, MUTATE_ENV];
      const saved = Object.fromEntries(names.map((k) => [k, process.env[k]]));
      for (const k of names) delete process.env[k];
      Object.assign(process.env, { [ADDON_ENV]: addonFile() }, env);
      try {
        // The scalar kernels take a few seconds for the cases at three thread counts.
        const [outcome] = runIsolated(child, 'isa-hashes', [], { timeoutMs: 120_000, maxOldSpaceMb: 512 });
        if (outcome.result !== 'ok') throw new Error(`native-isa-child under ${key}: ${JSON.stringify(outcome)}`);
        reports.set(key, outcome.value as IsaReport);
        return outcome.value as IsaReport;
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    };
    const isas = status.info?.isas ?? [];

    test('info() lists the ISAs this CPU runs, best first, ending in scalar; the default is the best', () => {
      expect(isas.length).toBeGreaterThanOrEqual(2);
      expect(isas[isas.length - 1]).toBe('scalar');
      expect(status.info?.isa).toBe(process.env[ISA_ENV] ?? isas[0]);
      expect(status.info).toMatchObject({ kernels: 'tfjsd-kernels', kernelsVersion: 1, mutation: 'none' });
      expect(status.info?.sourceHash).toMatch(/^[0-9a-f]{16}$/);
    });

    test('every ISA gives bit-identical outputs for every kernel at 1, 2 and 4 threads, and batch 1 = batch 4', () => {
      const reference = inFreshProcess({ [ISA_ENV]: 'scalar' });
      const referenceHashes = reference.hashes['1'];
      expect(Object.keys(referenceHashes).length).toBeGreaterThanOrEqual(15);
      for (const isa of isas) {
        const report = inFreshProcess({ [ISA_ENV]: isa });
        expect({ isa: report.info.isa, batchVariant: report.batchVariant }).toEqual({ isa, batchVariant: [] });
        for (const threads of ['1', '2', '4']) {
          expect({ isa, threads, hashes: report.hashes[threads] }).toEqual({ isa, threads, hashes: referenceHashes });
        }
      }
    }, 300_000);

    test('an ISA the CPU lacks, or an unknown one, fails the load with the reason', () => {
      const names = [ADDON_ENV, ISA_ENV];
      const saved = Object.fromEntries(names.map((k) => [k, process.env[k]]));
      const missing = ['avx512', 'avx2', 'neon'].find((isa) => !isas.includes(isa))!;
      try {
        for (const [isa, reason] of [
          [missing, `TFJS_DIFFUSERS_NATIVE_ISA=${missing}: this CPU does not support ${missing}`],
          ['sse9', 'TFJS_DIFFUSERS_NATIVE_ISA=sse9 is not an ISA of this build'],
        ]) {
          Object.assign(process.env, { [ADDON_ENV]: addonFile(), [ISA_ENV]: isa });
          const [outcome] = runIsolated(child, 'isa-hashes', [], { timeoutMs: 60_000 });
          if (missing === 'neon' && isa === missing) {
            // An x86 build has no NEON kernels: "not an ISA of this build".
            expect(JSON.stringify(outcome)).toContain('TFJS_DIFFUSERS_NATIVE_ISA=neon is not an ISA of this build');
          } else {
            expect(JSON.stringify(outcome)).toContain(reason);
          }
        }
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    }, 120_000);

    test(`the test-only ${MUTATE_ENV}=gemm-k-order hook changes the bits of every GEMM-based kernel, and only those`, () => {
      const normal = inFreshProcess({ [ISA_ENV]: isas[0] }).hashes['1'];
      const mutated = inFreshProcess({ [ISA_ENV]: isas[0], [MUTATE_ENV]: 'gemm-k-order' });
      expect(mutated.info.mutation).toBe('gemm-k-order');
      const changed = Object.keys(normal).filter((name) => normal[name] !== mutated.hashes['1'][name]);
      expect(changed).toEqual(Object.keys(normal).filter((name) => !name.startsWith('groupNorm')));
    }, 120_000);
  });

  test('an output allocation that grows the wasm heap is written through a fresh view', async () => {
    // 64 MiB of output from a fresh backend: makeOutput must grow the heap before the addon takes its view.
    const heapBytes = (): number => wasmHeapBytes(wasmBackendInternals(tf.backend())).length;
    const before = heapBytes();
    expect(before).toBeLessThan(64 * 2 ** 20);
    const a = tf.keep(rand([65536, 16], 5));
    const b = tf.keep(rand([16, 256], 6));
    resetNativeKernelUsage();
    const native = tf.keep(tf.matMul(a, b));
    expect(heapBytes()).toBeGreaterThan(before);
    expect(nativeKernelUsage().native.BatchMatMul).toBe(1);
    disableNativeKernels();
    const plain = tf.keep(tf.matMul(a, b));
    enableNativeKernels();
    // Compared on the backend: 16 M elements are slow to loop over in the test's JS.
    const [diff, scale] = tf.tidy(() => [tf.max(tf.abs(tf.sub(native, plain))), tf.max(tf.abs(plain))]);
    const relative = ((await diff.data())[0] as number) / ((await scale.data())[0] as number);
    tf.dispose([a, b, native, plain, diff, scale]);
    expect(relative).toBeLessThan(RELATIVE_TOLERANCE);
  });

  // A third element WINOGRAD: the addon runs the case as Winograd F(4x4, 3x3) (native/src/ops.cc use_winograd).
  const WINOGRAD = 'winograd';
  const convCases: Array<[string, Op, typeof WINOGRAD?]> = [
    ['3x3 32x32 128->128 (down_blocks.0)', conv([1, 32, 32, 128], [3, 3, 128, 128]), WINOGRAD],
    ['3x3 16x16 128->256, batch 2 (down_blocks.1)', conv([2, 16, 16, 128], [3, 3, 128, 256]), WINOGRAD],
    ['3x3 8x8 256->256 (down_blocks.2)', conv([1, 8, 8, 256], [3, 3, 256, 256])],
    ['3x3 4x4 512->256 (up_blocks.0)', conv([1, 4, 4, 512], [3, 3, 512, 256])],
    ['1x1 16x16 384->256 (conv_shortcut)', conv([2, 16, 16, 384], [1, 1, 384, 256], { pad: 'valid' })],
    ['3x3 stride 2, padding (0,1) (Downsample2D)', conv([1, 32, 32, 128], [3, 3, 128, 128], { strides: 2, pad: [[0, 0], [0, 1], [0, 1], [0, 0]] })],
    ['conv_in 3->128', conv([2, 32, 32, 3], [3, 3, 3, 128])],
    ['conv_out 128->3', conv([1, 32, 32, 128], [3, 3, 128, 3])],
    ['no bias, valid, stride 2', conv([1, 17, 15, 32], [3, 3, 32, 48], { bias: false, pad: 'valid', strides: 2 })],
    ['plain Conv2D (tf.conv2d)', () => tf.conv2d(rand([1, 8, 8, 64], 1) as tf.Tensor4D, rand([3, 3, 64, 32], 2, 0.05) as tf.Tensor4D, 1, 'same')],
  ];
  for (const activation of ['relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu'] as const) {
    convCases.push([`fused ${activation}`, conv([1, 8, 8, 64], [3, 3, 64, 64], { activation })]);
  }
  convCases.push(
    ['3x3 16x16 256->256, batch 3 (down_blocks.1)', conv([3, 16, 16, 256], [3, 3, 256, 256]), WINOGRAD],
    ['3x3 32x32 384->128 (up_blocks.3, skip concat)', conv([1, 32, 32, 384], [3, 3, 384, 128]), WINOGRAD],
    ['3x3 18x17 64->80, partial tiles, no bias', conv([2, 18, 17, 64], [3, 3, 64, 80], { bias: false }), WINOGRAD],
    ['3x3 16x16 64->64, fused relu (not Winograd)', conv([1, 16, 16, 64], [3, 3, 64, 64], { activation: 'relu' })],
    ['3x3 16x16 48->64 (not Winograd: 48 channels)', conv([1, 16, 16, 48], [3, 3, 48, 64])],
  );

  for (const [name, op, path] of convCases) {
    const winograd = path === WINOGRAD;
    const bound = winograd ? WINOGRAD_RELATIVE_TOLERANCE : RELATIVE_TOLERANCE;
    test(`conv ${name}: native${winograd ? ' (Winograd)' : ''} within ${bound} of wasm`, async () => {
      const addon = loadNativeAddon().addon!;
      addon.clearCaches();
      const { relative, usage } = await bothPaths(op);
      worst[name] = relative;
      expect(usage.native.FusedConv2D + usage.native.Conv2D).toBe(1);
      expect(usage.fallback.FusedConv2D + usage.fallback.Conv2D).toBe(0);
      expect(addon.info().winogradShapes).toBe(winograd ? 1 : 0);
      expect(relative).toBeLessThan(bound);
    });
  }

  describe('Winograd F(4x4, 3x3)', () => {
    const addon = (): NonNullable<ReturnType<typeof loadNativeAddon>['addon']> => loadNativeAddon().addon!;
    afterEach(() => addon().setWinograd(true));

    test('is on by default (TFJS_DIFFUSERS_WINOGRAD unset)', () => {
      expect(process.env.TFJS_DIFFUSERS_WINOGRAD).toBeUndefined();
      expect(addon().info().winograd).toBe(true);
    });

    test("the manifest's kernelPath names the kernels, their version and Winograd, since they decide the bits (not the ISA)", () => {
      expect(kernelPath('wasm')).toBe('wasm+tfjsd-kernels-1+winograd');
      addon().setWinograd(false);
      expect(kernelPath('wasm')).toBe('wasm+tfjsd-kernels-1');
      disableNativeKernels();
      expect(kernelPath('wasm')).toBe('wasm');
      expect(enableNativeKernels()).toBe(true);
    });

    test('agrees with the direct convolution on the same shapes, within the Winograd bound', async () => {
      for (const [name, op] of convCases.filter(([, , path]) => path === WINOGRAD)) {
        const run = (winograd: boolean): Promise<Float32Array> => {
          addon().setWinograd(winograd);
          return valuesOf(op);
        };
        const direct = await run(false);
        const wino = await run(true);
        const relative = maxAbsDiff(direct, wino) / maxAbs(direct);
        expect({ name, relative: relative < WINOGRAD_RELATIVE_TOLERANCE }).toEqual({ name, relative: true });
        expect(relative).toBeGreaterThan(0); // the Winograd path really ran: other bits than the direct one
      }
    });

    test('a sample gets the same bits alone as in a batch of 3 (the transforms and products are per sample)', async () => {
      const x = tf.keep(rand([3, 20, 18, 64], 11));
      const filter = tf.keep(rand([3, 3, 64, 80], 12, 1 / 24)) as tf.Tensor4D;
      const bias = tf.keep(rand([80], 13, 0.1));
      const y = (input: tf.Tensor): tf.Tensor => tf.fused.conv2d({ x: input as tf.Tensor4D, filter, bias, strides: 1, pad: 'same' });
      addon().clearCaches();
      const batched = tf.tidy(() => y(x));
      expect(addon().info().winogradShapes).toBe(1);
      for (let i = 0; i < 3; i++) {
        const alone = tf.tidy(() => y(tf.slice(x, [i, 0, 0, 0], [1, 20, 18, 64])));
        const inBatch = tf.tidy(() => tf.slice(batched, [i, 0, 0, 0], [1, 20, 18, 80]));
        expect(maxAbsDiff((await alone.data()) as Float32Array, (await inBatch.data()) as Float32Array)).toBe(0);
        tf.dispose([alone, inBatch]);
      }
      tf.dispose([x, filter, bias, batched]);
    });

    test('the transformed filters are cached per weight tensor and evicted with it', async () => {
      const filter = tf.keep(rand([3, 3, 64, 64], 7, 0.05)) as tf.Tensor4D;
      const before = addon().info();
      const run = (): Promise<Float32Array> => valuesOf(() => tf.conv2d(rand([1, 16, 16, 64], 1) as tf.Tensor4D, filter, 1, 'same'));
      const first = await run();
      const after = addon().info();
      expect(after.cachedWeights).toBe(before.cachedWeights + 1);
      // 36 transformed 64x64 matrices: 4x the filter's 9.
      expect(after.cachedWeightBytes - before.cachedWeightBytes).toBe(36 * 64 * 64 * 4);
      expect(maxAbsDiff(first, await run())).toBe(0);
      filter.dispose();
      expect(addon().info().cachedWeights).toBe(before.cachedWeights);
    });
  });

  const matMulCases: Array<[string, Op]> = [
    ['projection [256,256]x[256,256] + bias', () => tf.fused.matMul({ a: rand([256, 256], 1), b: rand([256, 256], 2, 1 / 16), bias: rand([256], 3, 0.1) })],
    ['time embedding [2,128]x[128,512] + bias, relu', () => tf.fused.matMul({ a: rand([2, 128], 1), b: rand([128, 512], 2, 0.09), bias: rand([512], 3), activation: 'relu' })],
    ['attention q kT [256,256]x[256,256]T', () => tf.matMul(rand([256, 256], 1), rand([256, 256], 2), false, true)],
    ['batched [3,64,32]x[3,32,48]', () => tf.matMul(rand([3, 64, 32], 1), rand([3, 32, 48], 2))],
    ['batched, both transposed', () => tf.matMul(rand([3, 32, 64], 1), rand([3, 48, 32], 2), true, true)],
    ['batched, a transposed', () => tf.matMul(rand([2, 5, 32, 64], 1), rand([2, 5, 32, 48], 2), true, false)],
    ['broadcast a [1,64,32] against b [4,32,16]', () => tf.matMul(rand([1, 64, 32], 1), rand([4, 32, 16], 2))],
    ['rank 3 x rank 2', () => tf.matMul(rand([4, 64, 32], 1), rand([32, 16], 2))],
    ['fused sigmoid', () => tf.fused.matMul({ a: rand([8, 40], 1), b: rand([40, 24], 2), bias: rand([24], 3), activation: 'sigmoid' })],
    ['fused leakyrelu, transposeB', () => tf.fused.matMul({ a: rand([8, 40], 1), b: rand([24, 40], 2), transposeB: true, activation: 'leakyrelu', leakyreluAlpha: 0.3 })],
  ];
  for (const [name, op] of matMulCases) {
    test(`matmul ${name}: native within ${RELATIVE_TOLERANCE} of wasm`, async () => {
      const { relative, usage } = await bothPaths(op);
      worst[name] = relative;
      expect(usage.native.BatchMatMul + usage.native._FusedMatMul).toBe(1);
      expect(usage.fallback.BatchMatMul + usage.fallback._FusedMatMul).toBe(0);
      expect(relative).toBeLessThan(RELATIVE_TOLERANCE);
    });
  }

  const fallbackCases: Array<[string, Op, keyof NativeKernelUsage['fallback']]> = [
    ['dilated conv', conv([1, 12, 12, 16], [3, 3, 16, 8], { dilations: 2 }), 'FusedConv2D'],
    [
      'prelu activation',
      () =>
        tf.fused.conv2d({
          x: rand([1, 6, 6, 8], 1) as tf.Tensor4D,
          filter: rand([3, 3, 8, 4], 2) as tf.Tensor4D,
          strides: 1,
          pad: 'same',
          activation: 'prelu',
          preluActivationWeights: rand([4], 3),
        }),
      'FusedConv2D',
    ],
    [
      'prelu matmul',
      () => tf.fused.matMul({ a: rand([6, 5], 1), b: rand([5, 4], 2), activation: 'prelu', preluActivationWeights: rand([4], 3) }),
      '_FusedMatMul',
    ],
    ['batch broadcast [2,3] against [3]', () => tf.matMul(rand([2, 3, 4, 5], 1), rand([3, 5, 6], 2)), 'BatchMatMul'],
  ];
  for (const [name, op, kernel] of fallbackCases) {
    test(`${name}: falls back to the wasm kernel, same result`, async () => {
      const { plain, native, usage } = await bothPaths(op);
      expect(usage.fallback[kernel]).toBe(1);
      expect(usage.native[kernel]).toBe(0);
      expect(maxAbsDiff(plain, native)).toBe(0); // the same wasm kernel ran both times
    });
  }

  test('the usage counters count native calls per kernel', () => {
    resetNativeKernelUsage();
    tf.tidy(() => {
      conv([1, 4, 4, 8], [3, 3, 8, 8])();
      conv([1, 4, 4, 8], [3, 3, 8, 8])();
      tf.matMul(rand([4, 4], 1), rand([4, 4], 2));
    });
    const usage = nativeKernelUsage();
    expect(usage.native.FusedConv2D).toBe(2);
    expect(usage.native.BatchMatMul).toBe(1);
    expect(usage.native._FusedMatMul).toBe(0);
  });

  test('reordered filters are cached per weight tensor and evicted when it is disposed', async () => {
    const addon = loadNativeAddon().addon!;
    const filter = tf.keep(rand([3, 3, 64, 64], 7, 0.05)) as tf.Tensor4D;
    const before = addon.info().cachedWeights;
    const run = (): Promise<Float32Array> => valuesOf(() => tf.conv2d(rand([1, 8, 8, 64], 1) as tf.Tensor4D, filter, 1, 'same'));
    const first = await run();
    expect(addon.info().cachedWeights).toBe(before + 1);
    const second = await run(); // served from the cache
    expect(addon.info().cachedWeights).toBe(before + 1);
    expect(maxAbsDiff(first, second)).toBe(0);
    filter.dispose();
    expect(addon.info().cachedWeights).toBe(before);
  });

  test('removing the wasm backend empties the native caches', async () => {
    const addon = loadNativeAddon().addon!;
    await bothPaths(conv([1, 8, 8, 16], [3, 3, 16, 16]));
    expect(addon.info().directShapes).toBeGreaterThan(0);
    await setBackend('wasm', { threads: 2, native: true }); // another thread count: the backend is re-created
    expect(addon.info()).toMatchObject({ directShapes: 0, winogradShapes: 0, cachedWeights: 0 });
    const { relative } = await bothPaths(conv([1, 8, 8, 16], [3, 3, 16, 16]));
    expect(relative).toBeLessThan(RELATIVE_TOLERANCE);
    await setBackend('wasm', { threads: 1, native: true });
  });

  test('no tensors or wasm allocations leak', async () => {
    await bothPaths(conv([1, 8, 8, 16], [3, 3, 16, 16]));
    const before = tf.memory().numTensors;
    const dataIds = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    await bothPaths(conv([1, 8, 8, 16], [3, 3, 16, 16]));
    await bothPaths(() => tf.matMul(rand([8, 8], 1), rand([8, 8], 2)));
    expect(tf.memory().numTensors).toBe(before);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(dataIds);
  });

  test("threads 'auto' means one wasm thread when the native kernels are on, every core when they are off", async () => {
    await setBackend('wasm');
    expect(nativeKernelsEnabled()).toBe(true);
    expect(wasmBackendInfo()?.threads).toBe(1);
    await setBackend('wasm', { native: false });
    expect(nativeKernelsEnabled()).toBe(false);
    expect(wasmBackendInfo()?.threads).toBe(autoWasmThreads());
  });

  test('the native kernels also run beside the threaded wasm backend', async () => {
    await setBackend('wasm', { threads: 2, native: true });
    expect(wasmBackendInfo()).toEqual({ binary: 'threaded-simd', threads: 2, workers: 1 });
    const { relative, usage } = await bothPaths(conv([2, 16, 16, 128], [3, 3, 128, 256]));
    expect(usage.native.FusedConv2D).toBe(1);
    expect(relative).toBeLessThan(RELATIVE_TOLERANCE);
  });

  describe('groupNormNative', () => {
    const cases: Array<[number[], number, boolean]> = [
      [[1, 32, 32, 128], 32, true],
      [[2, 16, 16, 256], 32, false],
      [[2, 8, 8, 256], 32, true],
      [[1, 4, 4, 512], 32, true],
      [[3, 5, 7, 12], 4, false],
    ];
    for (const [shape, groups, withSilu] of cases) {
      test(`[${shape.join(',')}] groups ${groups}${withSilu ? ' + SiLU' : ''}: within ${GROUP_NORM_TOLERANCE} of the tfjs ops`, async () => {
        const c = shape[3];
        // Activations with an offset, as in the UNet, make the variance's cancellation visible.
        const x = tf.keep(tf.add(rand(shape, 11, 2), 0.5)) as tf.Tensor4D;
        const gamma = tf.keep(tf.add(rand([c], 12, 0.1), 1)) as tf.Tensor1D;
        const beta = tf.keep(rand([c], 13, 0.1)) as tf.Tensor1D;
        resetNativeKernelUsage();
        const native = groupNormNative(x, gamma, beta, groups, 1e-6, withSilu);
        expect(native).not.toBeNull();
        expect(nativeKernelUsage().native.TfjsDiffusersGroupNorm).toBe(1);
        const ops = tf.tidy(() => {
          const y = groupNormNHWC(x, gamma, beta, groups, 1e-6);
          return withSilu ? silu(y) : y;
        });
        const a = (await ops.data()) as Float32Array;
        const b = (await native!.data()) as Float32Array;
        const relative = maxAbsDiff(a, b) / maxAbs(a);
        worst[`groupNorm [${shape.join(',')}]${withSilu ? ' silu' : ''}`] = relative;
        expect(native!.shape).toEqual(shape);
        tf.dispose([x, gamma, beta, ops, native!]);
        expect(relative).toBeLessThan(GROUP_NORM_TOLERANCE);
      });
    }

    test('checks its arguments', () => {
      const x = tf.zeros([1, 2, 2, 6]);
      expect(() => groupNormNative(x, tf.ones([6]), tf.zeros([6]), 4, 1e-6, false)).toThrow(
        'groupNormNative: groups=4 does not divide the 6 channels of x [1, 2, 2, 6]',
      );
      expect(() => groupNormNative(x, tf.ones([5]), tf.zeros([6]), 3, 1e-6, false)).toThrow(
        'groupNormNative: gamma has shape [5], expected [6]',
      );
    });

    test('is null when the native kernels are off or the backend is not wasm', async () => {
      const x = tf.ones([1, 2, 2, 4]);
      disableNativeKernels();
      expect(groupNormNative(x, tf.ones([4]), tf.zeros([4]), 2, 1e-6, true)).toBeNull();
      enableNativeKernels();
      await setBackend('cpu');
      const y = tf.ones([1, 2, 2, 4]);
      expect(groupNormNative(y, tf.ones([4]), tf.zeros([4]), 2, 1e-6, true)).toBeNull();
      await setBackend('wasm', { native: true });
      expect(nativeKernelsEnabled()).toBe(true);
    });
  });
}

// Without the addon these tests are reported as not run (or fail under TFJS_DIFFUSERS_REQUIRE=native); the other
// spec files cover the fallback (native-fallback.spec.ts). An addon that is built but fails to load is a failure.
const unavailable = testBackendUnavailableReason('wasm+native');
if (unavailable === null) {
  describe(`native kernels (${status.info?.kernels}-${status.info?.kernelsVersion}, ${status.info?.isa}, ${status.info?.threads} threads)`, () => {
    test('the addon loads', () => {
      expect(status.reason).toBeUndefined();
      expect(status.available).toBe(true);
    });
    describeNative();
  });
} else {
  describeNotRun('native', unavailable, 'native kernels', describeNative);
}
