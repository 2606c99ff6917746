// The provenance record in the core (lib/pipelines/image-provenance.ts) and the page's PNG (lib/pipelines/image-png.ts):
// a stamp reads back with its digests checked; the page's PNG decodes to the pixels Node's encodePng writes and gets
// the digests the CLI's Node path gives the same image (sha256 recomputed here with Node's crypto, independently of
// @noble/hashes); edits to one field or one pixel are reported; malformed records are named errors.
import { createHash } from 'crypto';
import { PNG } from 'pngjs';
import { insertITxtChunk, readITxtChunks } from '../../lib/io/png-text-chunk';
import { decodePng, encodePng } from '../../lib/node/png';
import { provenancePng } from '../../lib/pipelines/image-png';
import { ImageProvenance, PROVENANCE_FORMAT, PROVENANCE_KEYWORD, ProvenanceError, ProvenanceFields, readProvenance, stampProvenance } from '../../lib/pipelines/image-provenance';
import type { ImagesNHWC } from '../../lib/pipelines/image-bytes';

const FIELDS: ProvenanceFields = {
  seed: '18446744073709551615',
  steps: 2,
  eta: 0.5,
  batch: 3,
  pipeline: 'DDIMPipeline',
  scheduler: { _class_name: 'DDIMScheduler', num_train_timesteps: 1000, note: 'ünïcode ✓' },
  model: 'embedded:tiny-random',
  modelHash: `sha256:${'ab'.repeat(32)}`,
  library: 'tfjs-diffusers@0.1.0',
  backend: 'webgl',
  kernelPath: 'webgl',
  cpuIsa: 'unknown (browser: HeadlessChrome)',
};

/** Deterministic images in [0, 1] (with exact halves, which numpy_to_pil rounds to even). */
function images(shape: [number, number, number, number]): ImagesNHWC {
  const n = shape.reduce((a, b) => a * b);
  return { shape, data: Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0.5 : ((i * 7919) % 1000) / 999)) };
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const recordOf = (png: Uint8Array) => JSON.parse(readITxtChunks(png).get(PROVENANCE_KEYWORD)!) as ImageProvenance;

describe('the page PNG (provenancePng) against the CLI path (encodePng + pngjs decode)', () => {
  const SHAPES: [number, number, number, number][] = [[1, 32, 32, 3], [3, 4, 6, 3], [5, 3, 3, 1], [2, 4, 4, 4]];
  for (const shape of SHAPES) {
    test(`${JSON.stringify(shape)}: the same decoded pixels, the same imageSha256 and digest as stamping encodePng's PNG`, () => {
      const page = provenancePng(images(shape), FIELDS);
      const node = encodePng(images(shape));
      const pagePixels = decodePng(page);
      const nodePixels = decodePng(node);
      expect({ ...pagePixels, data: undefined }).toEqual({ ...nodePixels, data: undefined });
      expect(Buffer.from(pagePixels.data).equals(Buffer.from(nodePixels.data))).toBe(true);
      // A standard PNG: pngjs (another decoder) reads it, with no alpha channel for RGB.
      expect(PNG.sync.read(Buffer.from(page)).width).toBe(nodePixels.width);

      // The CLI's stamp (lib/node/cli/provenance-stamp.ts: pixels decoded by pngjs) gives the same record.
      const cliStamped = recordOf(stampProvenance(node, FIELDS, decodePng(node).data));
      const pageRecord = recordOf(page);
      expect(pageRecord).toEqual(cliStamped);
      // Digests as the Node path defines them, recomputed with Node's crypto.
      expect(pageRecord.imageSha256).toBe(sha256(nodePixels.data));
      const { digest, ...rest } = pageRecord;
      expect(digest).toBe(sha256(JSON.stringify(rest)));
      expect(Object.keys(pageRecord)).toEqual(['format', ...Object.keys(FIELDS), 'imageSha256', 'digest']);
    });
  }

  test('stampProvenance without pixels decodes through the platform (Node: pngjs), with the same digests', () => {
    const node = encodePng(images([3, 4, 6, 3]));
    expect(recordOf(stampProvenance(node, FIELDS))).toEqual(recordOf(stampProvenance(node, FIELDS, decodePng(node).data)));
  });
});

describe('readProvenance', () => {
  const png = provenancePng(images([1, 8, 8, 3]), FIELDS);

  test('round trip: the record stamped, no problems', () => {
    const read = readProvenance(png);
    expect(read.problems).toEqual([]);
    expect(read.record).toMatchObject({ format: PROVENANCE_FORMAT, ...FIELDS });
  });

  /** `png`'s pixels re-encoded by pngjs, `edit`ed, with `text` as the provenance chunk. */
  function rewrite(text: string, edit: (rgba: Buffer) => void = () => undefined): Uint8Array {
    const decoded = PNG.sync.read(Buffer.from(png));
    edit(decoded.data);
    return insertITxtChunk(new Uint8Array(PNG.sync.write(decoded, { colorType: 2 })), PROVENANCE_KEYWORD, text);
  }

  test('one edited field (digests kept) is reported as edited metadata; one edited pixel as edited pixels', () => {
    const record = recordOf(png);
    expect(readProvenance(rewrite(JSON.stringify(record))).problems).toEqual([]);
    expect(readProvenance(rewrite(JSON.stringify({ ...record, kernelPath: 'wasm' }))).problems).toEqual([
      'the metadata was edited after the image was written (its digest does not match)',
    ]);
    expect(readProvenance(rewrite(JSON.stringify(record), (rgba) => void (rgba[4 * 9 + 2] ^= 1))).problems).toEqual([
      'the pixels were edited after the image was written (imageSha256 does not match)',
    ]);
  });

  test('no chunk, not JSON, another format, a missing field: ProvenanceError naming what', () => {
    const plain = encodePng(images([1, 4, 4, 3]));
    expect(() => readProvenance(plain)).toThrow(new ProvenanceError('no tfjs-diffusers provenance chunk (iTXt): not written by tfjs-diffusers generate or its browser demo, or stripped by an image tool'));
    expect(() => readProvenance(insertITxtChunk(plain, PROVENANCE_KEYWORD, '{'))).toThrow('the provenance chunk is not valid JSON');
    const record = recordOf(png);
    expect(() => readProvenance(rewrite(JSON.stringify({ ...record, format: 'x/9' })))).toThrow('unknown provenance format "x/9"');
    const { modelHash: _dropped, ...withoutHash } = record;
    expect(() => readProvenance(rewrite(JSON.stringify(withoutHash)))).toThrow('provenance field modelHash is missing or not a string');
  });
});
