// The child side of the cross-ISA tests in native-kernels.spec.ts (run by spec/helpers/run-isolated.ts): the addon
// reads TFJS_DIFFUSERS_NATIVE_ISA and TFJS_DIFFUSERS_NATIVE_MUTATE when it loads, so each ISA needs a fresh process.
// Runs every kind of native kernel on fixed inputs straight on a heap of its own (no tfjs), at 1, 2 and 4 threads,
// and reports sha256 of each output, and whether sample 0 of a batch of 4 has the same bits as the sample run alone.
import { createHash } from 'crypto';
import { loadNativeAddon } from '../../lib/node/backends/native/addon';
import type { NativeAddon } from '../../lib/node/backends/native/addon';
import { isolatedMain } from '../helpers/run-isolated';

const THREADS = [1, 2, 4];

class Heap {
  readonly bytes = new Uint8Array(64 * 2 ** 20);
  readonly floats = new Float32Array(this.bytes.buffer);
  private top = 0;
  private seed = 1;

  /** `count` floats, uniform in [-scale, scale) from a fixed LCG; returns the byte offset. */
  random(count: number, scale = 1): number {
    const offset = this.alloc(count);
    for (let i = 0; i < count; i++) {
      this.seed = (Math.imul(this.seed, 1103515245) + 12345) >>> 0;
      this.floats[offset / 4 + i] = ((this.seed / 2 ** 32) * 2 - 1) * scale;
    }
    return offset;
  }

  alloc(count: number): number {
    const offset = this.top;
    this.top += Math.ceil((count * 4) / 64) * 64;
    if (this.top > this.bytes.length) throw new Error('native-isa-child: heap too small');
    return offset;
  }

  hash(offset: number, count: number): string {
    return createHash('sha256').update(this.bytes.subarray(offset, offset + 4 * count)).digest('hex');
  }
}

/** One kernel call at batch `n`: returns [output offset, floats per sample]. */
type Case = (addon: NativeAddon, heap: Heap, n: number, inputs: number[]) => [number, number];
interface CaseSpec {
  /** Inputs for the largest batch (4): [count, scale] each, made once. */
  inputs: Array<[number, number]>;
  run: Case;
  /** Whether the kernel sums through the GEMM (the mutation hook changes its bits). */
  gemm: boolean;
}

function conv(h: number, w: number, c: number, f: number, k: number, stride: number, pads: [number, number, number, number], activation = 0, bias = true): CaseSpec {
  const [pt, pb, pl, pr] = pads;
  const oh = Math.floor((h + pt + pb - f) / stride) + 1;
  const ow = Math.floor((w + pl + pr - f) / stride) + 1;
  return {
    inputs: [[4 * h * w * c, 1], [f * f * c * k, 1 / Math.sqrt(f * f * c)], [k, 0.1]],
    gemm: true,
    run: (addon, heap, n, [x, filter, b]) => {
      const out = heap.alloc(n * oh * ow * k);
      addon.conv2d(heap.bytes, x, filter, bias ? b : -1, out, -1, [n, h, w, c, f, f, k, stride, stride, 1, 1, pt, pb, pl, pr, oh, ow], activation, 0.2);
      return [out, oh * ow * k];
    },
  };
}

function matmul(m: number, k: number, n: number, opts: { ta?: boolean; tb?: boolean; bias?: boolean; activation?: number; broadcastB?: boolean }): CaseSpec {
  return {
    inputs: [[4 * m * k, 1], [4 * k * n, 1 / Math.sqrt(k)], [n, 0.1]],
    gemm: true,
    run: (addon, heap, batch, [a, b, bias]) => {
      const out = heap.alloc(batch * m * n);
      addon.matmul(heap.bytes, a, b, opts.bias ? bias : -1, out, batch, opts.broadcastB ? 1 : batch, m, k, n, opts.ta ?? false, opts.tb ?? false, opts.activation ?? 0, 0.3);
      return [out, m * n];
    },
  };
}

function groupNorm(hw: number, c: number, groups: number, silu: boolean): CaseSpec {
  return {
    inputs: [[4 * hw * c, 3], [c, 1], [c, 0.5]],
    gemm: false,
    run: (addon, heap, n, [x, gamma, beta]) => {
      const out = heap.alloc(n * hw * c);
      addon.groupNorm(heap.bytes, x, gamma, beta, out, n, hw, c, groups, 1e-6, silu);
      return [out, hw * c];
    },
  };
}

/** Every kind of kernel the native path runs (activation codes: kernels.ts ACTIVATION_CODES). */
const CASES: Record<string, CaseSpec> = {
  'conv 3x3 Winograd 16x16 64->64': conv(16, 16, 64, 3, 64, 1, [1, 1, 1, 1]),
  'conv 3x3 Winograd 18x17 64->80, partial tiles, no bias': conv(18, 17, 64, 3, 80, 1, [1, 1, 1, 1], 0, false),
  'conv 3x3 direct 8x8 64->48, relu': conv(8, 8, 64, 3, 48, 1, [1, 1, 1, 1], 1),
  'conv 3x3 stride 2, padding (0,1) 16x16 32->32': conv(16, 16, 32, 3, 32, 2, [0, 1, 0, 1]),
  'conv 1x1 8x8 96->64': conv(8, 8, 96, 1, 64, 1, [0, 0, 0, 0]),
  'conv_in 3x3 16x16 3->32, relu6': conv(16, 16, 3, 3, 32, 1, [1, 1, 1, 1], 2),
  'conv 3x3 6x6 16->3, sigmoid': conv(6, 6, 16, 3, 3, 1, [1, 1, 1, 1], 3),
  'conv 3x3 6x6 16->24, elu': conv(6, 6, 16, 3, 24, 1, [1, 1, 1, 1], 4),
  'conv 3x3 6x6 16->24, leakyrelu': conv(6, 6, 16, 3, 24, 1, [1, 1, 1, 1], 5),
  'linear [1,128]x[128,96] + bias': matmul(1, 128, 96, { bias: true, broadcastB: true }),
  'attention q kT [64,32]x[64,32]T': matmul(64, 32, 64, { tb: true }),
  'attention probs v [64,64]x[64,32]': matmul(64, 64, 32, {}),
  'matmul a transposed, sigmoid': matmul(20, 40, 24, { ta: true, bias: true, activation: 3 }),
  'groupNorm 8x8 64ch 32 groups + SiLU': groupNorm(64, 64, 32, true),
  'groupNorm 5x7 12ch 4 groups': groupNorm(35, 12, 4, false),
};

interface IsaReport {
  info: ReturnType<NativeAddon['info']>;
  /** Per thread count, per case: sha256 of the batch-4 output. */
  hashes: Record<string, Record<string, string>>;
  /** Cases where a sample run alone differs from the same sample in the batch of 4 (at any thread count). */
  batchVariant: string[];
}

isolatedMain({
  'isa-hashes': () => [
    (): IsaReport => {
      const { addon, error } = loadNativeAddon();
      if (addon === null) throw new Error(`native addon not loaded: ${error}`);
      const heap = new Heap();
      const inputs = Object.fromEntries(Object.entries(CASES).map(([name, c]) => [name, c.inputs.map(([count, scale]) => heap.random(count, scale))]));
      const hashes: IsaReport['hashes'] = {};
      const batchVariant = new Set<string>();
      for (const threads of THREADS) {
        addon.setNumThreads(threads);
        hashes[threads] = {};
        for (const [name, c] of Object.entries(CASES)) {
          const [out4, perSample] = c.run(addon, heap, 4, inputs[name]);
          hashes[threads][name] = heap.hash(out4, 4 * perSample);
          const [out1] = c.run(addon, heap, 1, inputs[name]);
          if (heap.hash(out1, perSample) !== heap.hash(out4, perSample)) batchVariant.add(name);
        }
      }
      return { info: addon.info(), hashes, batchVariant: [...batchVariant] };
    },
  ],
});
