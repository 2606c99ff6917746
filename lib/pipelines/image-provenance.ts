import { insertITxtChunk, readITxtChunks } from '../io/png-text-chunk';
import { createSha256, platformLoader } from '../loading/platform-loaders';

/**
 * The provenance every PNG written by `tfjs-diffusers generate` (and downloaded from the browser demo) carries, in
 * an `iTXt` chunk with the keyword {@link PROVENANCE_KEYWORD}: everything that decides the image's bits (seed,
 * steps, eta, batch, the pipeline and its scheduler config, the model's content hash, library version, backend and
 * kernel path), so that `tfjs-diffusers replay <png>` can regenerate the image and compare it bit for bit. Two digests make edits visible
 * before any regeneration: `imageSha256` over the decoded pixels, `digest` over the record itself (with
 * `imageSha256`). They detect changes, they do not authenticate: anyone can write a new record with new digests.
 *
 * Platform-independent: sha256 is synchronous on every platform ({@link createSha256}: OpenSSL's in Node, @noble/hashes'
 * in a page; the same digests), so stamping and reading stay synchronous. Decoding a PNG's pixels is a platform service: a page passes the pixels
 * it encoded (lib/pipelines/image-png.ts), Node decodes with pngjs (the `decodePngPixels` service that
 * lib/node/register-node-loaders.ts registers).
 *
 * ```ts
 * const png = stampProvenance(encodePng(images), { seed: '3', steps: 50, ... });
 * readProvenance(png); // { record, problems: [] } (Node: the pixels are decoded with pngjs)
 * ```
 */

export const PROVENANCE_KEYWORD = 'tfjs-diffusers';
export const PROVENANCE_FORMAT = 'tfjs-diffusers-provenance/1';

export interface ImageProvenance {
  format: typeof PROVENANCE_FORMAT;
  /** The torch.Generator("cpu") seed, as a decimal string (seeds reach 2^64 − 1). */
  seed: string;
  steps: number;
  eta: number;
  batch: number;
  pipeline: string;
  /** The scheduler's diffusers config (`scheduler_config.json` as diffusers writes it). */
  scheduler: Record<string, unknown>;
  /** The model as the user named it (`embedded:tiny-random`, a Hub id or a folder as given). */
  model: string;
  /** `sha256:…` content hash of the UNet weights and scheduler config (run-environment.ts `pipelineContentHash`). */
  modelHash: string;
  library: string;
  backend: string;
  kernelPath: string;
  cpuIsa: string;
  /** sha256 of the decoded 8-bit pixels (height × width × channels, row-major). */
  imageSha256: string;
  /** sha256 of this record's JSON without `digest` (keys in this order). */
  digest: string;
}

export type ProvenanceFields = Omit<ImageProvenance, 'format' | 'imageSha256' | 'digest'>;

/** The name `generate` and the browser demo record for the embedded model (`replay` maps it back to models/tiny-random). */
export const EMBEDDED_MODEL_NAME = 'embedded:tiny-random';

/** Hex sha256 of bytes, or of a string's UTF-8 ({@link createSha256}: the platform's, else @noble/hashes'). */
function sha256(data: Uint8Array | string): string {
  const hash = createSha256();
  hash.update(typeof data === 'string' ? new TextEncoder().encode(data) : data);
  return hash.hex();
}

function recordDigest(record: Omit<ImageProvenance, 'digest'>): string {
  const { format, seed, steps, eta, batch, pipeline, scheduler, model, modelHash, library, backend, kernelPath, cpuIsa, imageSha256 } = record;
  return sha256(JSON.stringify({ format, seed, steps, eta, batch, pipeline, scheduler, model, modelHash, library, backend, kernelPath, cpuIsa, imageSha256 }));
}

/** sha256 of a PNG's decoded pixels (8-bit, height × width × channels, row-major), decoded by the platform (Node). */
function pixelDigest(png: Uint8Array): string {
  return sha256(platformLoader('decodePngPixels')(png));
}

/**
 * `png` with its provenance chunk added. `pixels` are the image's decoded 8-bit pixels (height × width × channels,
 * row-major: what the PNG decodes to); without them the platform decodes `png` (Node only: in a page pass them).
 */
export function stampProvenance(png: Uint8Array, fields: ProvenanceFields, pixels?: Uint8Array): Uint8Array {
  const imageSha256 = pixels === undefined ? pixelDigest(png) : sha256(pixels);
  const withImage = { format: PROVENANCE_FORMAT, ...fields, imageSha256 } as const;
  const record: ImageProvenance = { ...withImage, digest: recordDigest(withImage) };
  return insertITxtChunk(png, PROVENANCE_KEYWORD, JSON.stringify(record));
}

/** A PNG's provenance record and what does not add up in it (empty when its digests match). */
export interface ReadProvenance {
  record: ImageProvenance;
  /** One line each: "the metadata was edited …", "the pixels were edited …". */
  problems: string[];
}

/** An image without a provenance chunk, or with one that is not ours; the message says which. */
export class ProvenanceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProvenanceError';
  }
}

const FIELD_TYPES: Record<keyof ImageProvenance, 'string' | 'number' | 'object'> = {
  format: 'string', seed: 'string', steps: 'number', eta: 'number', batch: 'number', pipeline: 'string', scheduler: 'object',
  model: 'string', modelHash: 'string', library: 'string', backend: 'string', kernelPath: 'string', cpuIsa: 'string',
  imageSha256: 'string', digest: 'string',
};

/**
 * Reads and checks the provenance chunk of `png`; throws ProvenanceError when there is none or it is malformed.
 * Checking the pixel digest decodes the PNG: Node only (a platform service of the Node entry).
 */
export function readProvenance(png: Uint8Array): ReadProvenance {
  const text = readITxtChunks(png).get(PROVENANCE_KEYWORD);
  if (text === undefined) throw new ProvenanceError(`no ${PROVENANCE_KEYWORD} provenance chunk (iTXt): not written by tfjs-diffusers generate or its browser demo, or stripped by an image tool`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ProvenanceError('the provenance chunk is not valid JSON (edited or corrupted)');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ProvenanceError('the provenance chunk is not a JSON object');
  const record = parsed as Record<string, unknown>;
  if (record.format !== PROVENANCE_FORMAT) throw new ProvenanceError(`unknown provenance format ${JSON.stringify(String(record.format)).slice(0, 80)} (expected ${PROVENANCE_FORMAT})`);
  for (const [field, type] of Object.entries(FIELD_TYPES)) {
    const value = record[field];
    if (typeof value !== type || value === null) throw new ProvenanceError(`provenance field ${field} is missing or not a ${type}`);
  }
  const provenance = record as unknown as ImageProvenance;
  const problems: string[] = [];
  if (recordDigest(provenance) !== provenance.digest) problems.push('the metadata was edited after the image was written (its digest does not match)');
  if (pixelDigest(png) !== provenance.imageSha256) problems.push('the pixels were edited after the image was written (imageSha256 does not match)');
  return { record: provenance, problems };
}
