import * as tf from '@tensorflow/tfjs-core';
import { activeKernelPath, KernelPath } from './kernel-path';

/**
 * The attention products `softmax(q kᵀ · scale) v`, per sample and head, of projections stored as `[N*H*W, C]`
 * matrices (sample-major rows; head j owns columns `j*C/heads .. (j+1)*C/heads`). Returns `[N*H*W, C]`.
 *
 * One formulation per kernel path, each computing every sample on its own (batch invariant):
 * - `wasm+native`, one head: two batched products over `[N, H*W, C]` (the native BatchMatMul runs batched,
 *   transposed products sample by sample in one call).
 * - otherwise (wasm's BatchMatMul is fast only for batch 1 without transposes): 2-D matmuls per sample and head on
 *   `kᵀ` made by one explicit transpose.
 *
 * ```ts
 * const o = attentionProducts(q, k, v, { samples: 2, pixels: 256, heads: 1, scale: 1 / 16 }); // q, k, v: [512, 256]
 * ```
 */
export function attentionProducts(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, shape: AttentionShape): tf.Tensor2D {
  const { samples, pixels, heads } = shape;
  const c = q.shape[1];
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (t.rank !== 2 || t.shape[0] !== samples * pixels || t.shape[1] !== c) {
      throw new Error(`attentionProducts: ${name} has shape [${t.shape.join(', ')}], expected [${samples * pixels}, ${c}] (samples=${samples}, pixels=${pixels})`);
    }
  }
  if (!Number.isSafeInteger(heads) || heads < 1 || c % heads !== 0) throw new Error(`attentionProducts: heads=${heads} does not divide the ${c} channels`);
  return ATTENTION_BY_PATH[activeKernelPath()](q, k, v, shape);
}

export interface AttentionShape {
  /** Batch size N. */
  samples: number;
  /** Rows per sample (H*W). */
  pixels: number;
  heads: number;
  /** Multiplies the scores before the softmax (diffusers: head width ** -0.5). */
  scale: number;
}

type AttentionImpl = (q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, shape: AttentionShape) => tf.Tensor2D;

const ATTENTION_BY_PATH: Readonly<Record<KernelPath, AttentionImpl>> = {
  'wasm+native': (q, k, v, shape) => (shape.heads === 1 ? attendBatched(q, k, v, shape) : attendPerSample(q, k, v, shape)),
  cpu: attendPerSample,
  wasm: attendPerSample,
  other: attendPerSample,
};

/** Per sample and head, as 2-D matmuls on `[H*W, d]` blocks (no copy when there is only one). */
function attendPerSample(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, { samples: n, pixels: hw, heads, scale }: AttentionShape): tf.Tensor2D {
  return tf.tidy(() => {
    const headDim = q.shape[1] / heads;
    const block = (m: tf.Tensor2D, sample: number, head: number): tf.Tensor2D =>
      n === 1 && heads === 1 ? m : (tf.slice(m, [sample * hw, head * headDim], [hw, headDim]) as tf.Tensor2D);
    const perSample: tf.Tensor2D[] = [];
    for (let i = 0; i < n; i++) {
      const perHead: tf.Tensor2D[] = [];
      for (let j = 0; j < heads; j++) {
        const kT = tf.transpose(block(k, i, j));
        const scores = tf.mul(tf.matMul(block(q, i, j), kT), scale);
        perHead.push(tf.matMul(tf.softmax(scores), block(v, i, j)));
      }
      perSample.push(perHead.length === 1 ? perHead[0] : tf.concat(perHead, 1));
    }
    return perSample.length === 1 ? perSample[0] : tf.concat(perSample, 0);
  });
}

/** One head for the whole batch in two batched products. */
function attendBatched(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, { samples: n, pixels: hw, scale }: AttentionShape): tf.Tensor2D {
  return tf.tidy(() => {
    const c = q.shape[1];
    const scores = tf.mul(tf.matMul(tf.reshape(q, [n, hw, c]), tf.reshape(k, [n, hw, c]), false, true), scale);
    return tf.reshape(tf.matMul(tf.softmax(scores), tf.reshape(v, [n, hw, c])), [n * hw, c]) as tf.Tensor2D;
  });
}
