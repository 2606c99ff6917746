import { zlibSync } from 'fflate';
import { encodePngChunk, PNG_SIGNATURE } from '../io/png-text-chunk';
import { imageGridPixels, ImagePixels, ImagesNHWC } from './image-bytes';
import { ProvenanceFields, stampProvenance } from './image-provenance';

/** PNG colour types (PNG 1.2 §11.2.2) of 8-bit grey, RGB and RGBA pixels. */
const COLOR_TYPE: Record<ImagePixels['channels'], number> = { 1: 0, 3: 2, 4: 6 };

/**
 * 8-bit pixels as a PNG file, in plain JavaScript (fflate's zlib, no canvas: a canvas would hand back RGBA and may
 * colour-manage): 8 bits per channel, no interlacing, filter type 0 on every row. Decodes to exactly `pixels`; the
 * file's bytes differ from Node's pngjs encoder (lib/node/png.ts), its pixels do not.
 */
function encodePixelsPng({ width, height, channels, data }: ImagePixels): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, COLOR_TYPE[channels], 0, 0, 0], 8); // bit depth, colour type, deflate, adaptive filtering, no interlace
  const stride = width * channels;
  const scanlines = new Uint8Array(height * (stride + 1)); // each row: filter byte 0 (None), then its pixels
  for (let y = 0; y < height; y++) scanlines.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const parts = [Uint8Array.from(PNG_SIGNATURE), encodePngChunk('IHDR', ihdr), encodePngChunk('IDAT', zlibSync(scanlines)), encodePngChunk('IEND', new Uint8Array(0))];
  const png = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    png.set(part, at);
    at += part.length;
  }
  return png;
}

/**
 * NHWC float images in [0, 1] as one PNG file carrying its provenance chunk (lib/pipelines/image-provenance.ts), on
 * any platform: what the browser demo's download saves, and what `tfjs-diffusers replay <png>` reads. The pixels are
 * those of Node's `encodePng` (the image itself for a batch of one, else a grid; diffusers' `numpy_to_pil` bytes), so
 * the record's `imageSha256` is the one `generate` writes for the same images.
 *
 * ```js
 * const { images } = await pipeline.generate({ generator: new Generator().manualSeed(3), outputType: 'array' });
 * const png = provenancePng(images, await runProvenance(pipeline, { seed: 3, steps: 50, eta: 0, batch: 1, model }));
 * ```
 */
export function provenancePng(images: ImagesNHWC, fields: ProvenanceFields): Uint8Array {
  const pixels = imageGridPixels(images, {}, 'provenancePng');
  return stampProvenance(encodePixelsPng(pixels), fields, pixels.data);
}
