import { PNG } from 'pngjs';
import { imageGridPixels, ImagesNHWC } from '../pipelines/image-bytes';
import { MEMORY_LIMITS } from '../config/memory-limits';

export { floatToByte, gridLayout } from '../pipelines/image-bytes';
export type { ImagesNHWC } from '../pipelines/image-bytes';

/** A decoded 8-bit image, row-major HWC. */
export interface DecodedPng {
  width: number;
  height: number;
  /** 3 for RGB, 4 when the file has an alpha channel, 1 for grey. */
  channels: number;
  data: Uint8Array;
}

/**
 * Encodes NHWC float images in [0, 1] as one PNG: the image itself for a batch of one, a grid (row by row,
 * no padding, black where the grid has no image) for a batch. Bytes follow diffusers' `numpy_to_pil`.
 *
 * ```ts
 * const { images } = await pipeline.generate({ generator, outputType: 'array' });
 * fs.writeFileSync('image.png', encodePng(images));
 * ```
 */
export function encodePng(images: ImagesNHWC, options: { cols?: number } = {}): Uint8Array {
  const { width, height, channels, data } = imageGridPixels(images, options, 'encodePng');
  const png = new PNG({ width, height });
  // pngjs takes RGBA: grey is spread over R, G and B, and alpha is opaque where the images have none.
  for (let p = 0; p < width * height; p++) {
    const dst = p * 4;
    if (channels === 1) {
      png.data[dst] = png.data[dst + 1] = png.data[dst + 2] = data[p];
      png.data[dst + 3] = 255;
    } else {
      png.data[dst] = data[p * channels];
      png.data[dst + 1] = data[p * channels + 1];
      png.data[dst + 2] = data[p * channels + 2];
      png.data[dst + 3] = channels === 4 ? data[p * 4 + 3] : 255;
    }
  }
  // colorType 2 = RGB without alpha, 6 = RGBA, 0 = grey; the input buffer is always RGBA.
  const colorType = channels === 4 ? 6 : channels === 1 ? 0 : 2;
  return new Uint8Array(PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true }));
}

/** A PNG that cannot be decoded: malformed, or larger than the decoded-size cap; the message says which. */
export class PngDecodeError extends Error {
  override name = 'PngDecodeError';
}

/** The width and height an IHDR chunk (the first chunk of every PNG) declares, or a PngDecodeError. */
function pngDimensions(bytes: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 8 || signature.some((b, i) => bytes[i] !== b)) throw new PngDecodeError('not a PNG file (no PNG signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33 || view.getUint32(8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') {
    throw new PngDecodeError('not a valid PNG: it does not start with a 13-byte IHDR chunk');
  }
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * Decodes a PNG to 8-bit HWC bytes (for tests and tools): RGB for a colour file without alpha, RGBA with it,
 * one channel for grey. The size the header declares is checked against `maxPixels` first; a malformed file or one
 * over the cap gives a {@link PngDecodeError}.
 */
export function decodePng(bytes: Uint8Array, options: { maxPixels?: number } = {}): DecodedPng {
  const maxPixels = options.maxPixels ?? MEMORY_LIMITS.maxDecodedPngPixels;
  const declared = pngDimensions(bytes);
  if (declared.width * declared.height > maxPixels) {
    throw new PngDecodeError(
      `its header declares ${declared.width} × ${declared.height} pixels (${((declared.width * declared.height * 4) / 1024 ** 3).toFixed(1)} GiB decoded), ` +
        `over the limit of ${maxPixels} pixels: refused before decoding`,
    );
  }
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new PngDecodeError(`not a valid PNG (${(err as Error).message})`, { cause: err });
  }
  const { width, height } = png;
  const colorType = (png as unknown as { colorType?: number }).colorType;
  const channels = colorType === 0 ? 1 : colorType === 6 || colorType === 4 ? 4 : 3;
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < channels; c++) data[i * channels + c] = png.data[i * 4 + c];
  }
  return { width, height, channels, data };
}
