/**
 * Float images to 8-bit pixels, exactly as diffusers' `numpy_to_pil` does, laid out as the one image (or grid) a PNG
 * holds: the pure half of PNG output, shared by Node's pngjs encoder (lib/node/png.ts) and the page's
 * (lib/pipelines/image-png.ts), so both write the same pixels.
 */

/** Images as a flat row-major NHWC buffer plus its shape: what `DDIMPipeline.generate` returns as an array. */
export interface ImagesNHWC {
  /** `[batch, height, width, channels]`, channels 1 (grey), 3 (RGB) or 4 (RGBA). */
  shape: [number, number, number, number];
  /** Values in [0, 1] (diffusers' `output_type="np"`); anything outside is clamped. */
  data: ArrayLike<number>;
}

/** Throws, naming `where`, unless `images` is an NHWC shape of positive integers with 1, 3 or 4 channels and matching data. */
function checkImages(images: ImagesNHWC, where: string): void {
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

/** 8-bit pixels of one image, row-major HWC: what a PNG decodes to. */
export interface ImagePixels {
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA): the channels of the images. */
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

/**
 * NHWC float images as the 8-bit pixels of one image: the image itself for a batch of one, a grid (row by row, no
 * padding, black — opaque where there is alpha — where the grid has no image) for a batch; `cols` defaults to
 * {@link gridLayout}'s. Bytes follow diffusers' `numpy_to_pil` ({@link floatToByte}).
 *
 * ```ts
 * imageGridPixels({ shape: [2, 32, 32, 3], data }); // { width: 64, height: 32, channels: 3, data: Uint8Array(6144) }
 * ```
 */
export function imageGridPixels(images: ImagesNHWC, options: { cols?: number } = {}, where = 'imageGridPixels'): ImagePixels {
  checkImages(images, where);
  const [batch, height, width, channels] = images.shape;
  let { rows, cols } = gridLayout(batch);
  if (options.cols !== undefined) {
    if (!Number.isInteger(options.cols) || options.cols < 1) throw new Error(`${where}: cols must be a positive integer, got ${options.cols}`);
    cols = Math.min(options.cols, batch);
    rows = Math.ceil(batch / cols);
  }
  const gridWidth = width * cols;
  const data = new Uint8Array(gridWidth * height * rows * channels);
  if (channels === 4) for (let i = 3; i < data.length; i += 4) data[i] = 255;
  const rowValues = width * channels;
  for (let n = 0; n < batch; n++) {
    const x0 = (n % cols) * width;
    const y0 = Math.floor(n / cols) * height;
    for (let y = 0; y < height; y++) {
      const src = (n * height + y) * rowValues;
      const dst = ((y0 + y) * gridWidth + x0) * channels;
      for (let i = 0; i < rowValues; i++) data[dst + i] = floatToByte(images.data[src + i]);
    }
  }
  return { width: gridWidth, height: height * rows, channels: channels as 1 | 3 | 4, data };
}
