import type { ImagesNHWC } from './image-bytes';

const f = Math.fround;

/** numpy's pairwise float32 summation (`pairwise_sum_FLOAT`: blocks of 128, 8 accumulators), over `values`. */
function pairwiseSumFloat32(values: Float32Array, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = f(res + values[start + i]);
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = values[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = f(r[j] + values[start + i + j]);
    }
    let res = f(f(f(r[0] + r[1]) + f(r[2] + r[3])) + f(f(r[4] + r[5]) + f(r[6] + r[7])));
    for (; i < n; i++) res = f(res + values[start + i]);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f(pairwiseSumFloat32(values, start, n2) + pairwiseSumFloat32(values, start + n2, n - n2));
}

/**
 * The figure `print(np.abs(image).sum())` prints for a diffusers pipeline's `output_type="np"` images: the sum of
 * absolute values, computed as numpy does it, bit for bit. The images numpy sees are a permuted view of torch's
 * NCHW tensor, so `np.abs` keeps that memory order and numpy's float32 pairwise summation runs over the values in
 * NCHW order. Summing the same float32 values in another order can move the last float32 digit (≈1e-4 at 1500).
 *
 * ```ts
 * const { images } = await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: 2, outputType: 'array' });
 * console.log(`abs-sum ${imageAbsSum(images).toFixed(4)}`);
 * ```
 */
export function imageAbsSum(images: ImagesNHWC): number {
  const [batch, height, width, channels] = images.shape;
  const n = batch * height * width * channels;
  if (images.data.length !== n) {
    throw new Error(`imageAbsSum: data holds ${images.data.length} values but shape ${JSON.stringify(images.shape)} needs ${n}`);
  }
  const absNCHW = new Float32Array(n);
  let k = 0;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          absNCHW[k++] = Math.abs(images.data[((b * height + y) * width + x) * channels + c]);
        }
      }
    }
  }
  // numpy's add.reduce starts from the identity 0 and adds the pairwise sum of the whole contiguous buffer.
  return f(0 + pairwiseSumFloat32(absNCHW, 0, n));
}
