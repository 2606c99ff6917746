/**
 * Float images to 8-bit pixels, exactly as diffusers' `numpy_to_pil` does: the pure half of PNG output (the encoder
 * itself is Node-only: lib/node/png.ts).
 */

/** Images as a flat row-major NHWC buffer plus its shape: what `DDIMPipeline.generate` returns as an array. */
export interface ImagesNHWC {
  /** `[batch, height, width, channels]`, channels 1 (grey), 3 (RGB) or 4 (RGBA). */
  shape: [number, number, number, number];
  /** Values in [0, 1] (diffusers' `output_type="np"`); anything outside is clamped. */
  data: ArrayLike<number>;
}

/** Throws, naming `where`, unless `images` is an NHWC shape of positive integers with 1, 3 or 4 channels and matching data. */
export function checkImages(images: ImagesNHWC, where: string): void {
  const { shape, data } = images;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${where}: expected an NHWC shape [batch, height, width, channels] of positive integers, got ${JSON.stringify(shape)}`);
  }
  const [b, h, w, c] = shape;
  if (![1, 3, 4].includes(c)) {
    throw new Error(`${where}: expected 1, 3 or 4 channels (NHWC), got shape ${JSON.stringify(shape)} with channels=${c}`);
  }
  if (data.length !== b * h * w * c) {
    throw new Error(`${where}: data holds ${data.length} values but shape ${JSON.stringify(shape)} needs ${b * h * w * c}`);
  }
}

/** numpy's `rint`: round half to even, like `np.round`. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * One float in [0, 1] to a byte exactly as diffusers' `numpy_to_pil` does on a float32 image:
 * `(image * 255).round().astype("uint8")`, the product rounded to float32 first, then half to even.
 * Values outside [0, 1] are clamped (the pipeline already clamps), NaN becomes 0.
 *
 * ```ts
 * floatToByte(0.5);   // 128 (127.5 rounds half to even)
 * ```
 */
export function floatToByte(value: number): number {
  if (Number.isNaN(value)) return 0;
  const clamped = Math.min(1, Math.max(0, value));
  return roundHalfEven(Math.fround(Math.fround(clamped) * 255));
}

/**
 * The layout of a grid for `count` images: as square as possible, filled row by row
 * (`cols = ceil(sqrt(count))`, `rows = ceil(count / cols)`).
 */
export function gridLayout(count: number): { rows: number; cols: number } {
  if (!Number.isInteger(count) || count < 1) throw new Error(`gridLayout: count must be a positive integer, got ${count}`);
  const cols = Math.ceil(Math.sqrt(count));
  return { rows: Math.ceil(count / cols), cols };
}
