import * as tf from '@tensorflow/tfjs-core';
import { eventLoopYielder } from '../../io/event-loop-yield';
import { readSafetensors, safetensorsTensors } from '../../io/safetensors';
import type { StateDict } from '../../io/state-dict';
import { readTorchCheckpoint, torchCheckpointTensors } from '../../io/torch-pickle';
import { CheckpointError } from '../../io/checkpoint-error';
import { maxWeightFileBytesFor } from '../../config/memory-limits';
import { parseUNet2DConfig, UNet2DConfig } from './config';
import { readUNet2DMetadata, UNET_METADATA_KEY, UNet2DModel } from './unet-2d-model';
import { writeMatchedWeights } from './state-dict-mapping';
import { checkStateDict, checkWeightsManifest, manifestEntryBytes, parameterCount, unet2DWeightSpecs } from './weight-specs';
import { HttpModelSource } from '../../loading/http-model-source';
import type { LoadPipelineOptions } from '../../loading/load-options';
import { ModelJsonError, ModelSource, ModelSourceError } from '../../loading/model-source';
import { convertedShardPaths, findUNetLayout, UNetLayout } from '../../loading/pipeline-layout';
import { resolveModelSource } from '../../loading/platform-loaders';

import { checkFiniteManifestWeights, checkFiniteTensor } from './finite-weights';
/** Options of {@link loadUNetFromSource}. */
export interface LoadUNetOptions {
  /** Called with the fraction of weight bytes read, from 0 to 1 (converted models). */
  onProgress?: (fraction: number) => void;
}

/**
 * Decodes a weight file's bytes by the file's extension: `.safetensors`, or PyTorch's `.bin` / `.pt` / `.pth` /
 * `.ckpt` (zip + pickle). Pure: bytes in, state dict out.
 *
 * ```ts
 * const stateDict = decodeWeightFile(bytes, 'unet/diffusion_pytorch_model.safetensors');
 * ```
 */
export function decodeWeightFile(bytes: Uint8Array, file: string): StateDict {
  return weightFileFormat(file) === 'safetensors' ? readSafetensors(bytes, file) : readTorchCheckpoint(bytes, file);
}

/**
 * {@link decodeWeightFile} with a turn of the event loop between tensors whenever `pause` says so (see
 * `eventLoopYielder`): a multi-GB checkpoint decodes for seconds, during which a SIGTERM would otherwise wait.
 */
async function decodeWeightFileYielding(bytes: Uint8Array, file: string, pause: () => Promise<void>): Promise<StateDict> {
  const tensors = weightFileFormat(file) === 'safetensors' ? safetensorsTensors(bytes, file) : torchCheckpointTensors(bytes, file);
  const stateDict: StateDict = new Map();
  for (const [name, tensor] of tensors) {
    stateDict.set(name, tensor);
    await pause();
  }
  return stateDict;
}

/** The format of a weight file by its extension (checked before anything is read), else a {@link CheckpointError}. */
export function weightFileFormat(file: string): 'safetensors' | 'torch' {
  if (file.endsWith('.safetensors')) return 'safetensors';
  if (/\.(bin|pt|pth|ckpt)$/.test(file)) return 'torch';
  throw new CheckpointError(file, 'unknown weight file extension (expected .safetensors or .bin)');
}

/** Reads `tasks` with at most `concurrency` in flight, in order of their indices. */
async function inPool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** One group of a model.json's `weightsManifest`. */
interface ManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/** How many weight shards are read at once (a browser opens 6 HTTP/1.1 connections per host). */
const SHARD_READS_IN_FLIGHT = 4;

/**
 * A converted UNet (`model.json` + shards): the diffusers config from the metadata, the manifest checked against it
 * (names, shapes, dtypes) before any weight buffer exists, each shard read with a cap of what the manifest still
 * needs, the model built from the config and the weights loaded by name. The model.json's topology is not used: the
 * graph is always the one the config describes.
 */
async function loadConvertedUNet(source: ModelSource, modelJsonPath: string, options: LoadUNetOptions): Promise<UNet2DModel> {
  const file = source.describe(modelJsonPath);
  const modelJson = await source.readJson(modelJsonPath);
  const metadata = readUNet2DMetadata(modelJson.userDefinedMetadata, file);
  const config = parseUNet2DConfig(metadata.config, `${file} (userDefinedMetadata.${UNET_METADATA_KEY}.config)`);
  const specs = unet2DWeightSpecs(config);
  const manifest = modelJson.weightsManifest;
  const groups = Array.isArray(manifest) ? (manifest as unknown[]) : [];
  const valid = groups.every(
    (g) =>
      g !== null &&
      typeof g === 'object' &&
      Array.isArray((g as ManifestGroup).paths) &&
      (g as ManifestGroup).paths.every((p: unknown) => typeof p === 'string') &&
      Array.isArray((g as ManifestGroup).weights) &&
      (g as ManifestGroup).weights.every((w: unknown) => w !== null && typeof w === 'object'),
  );
  if (!Array.isArray(manifest) || !valid) {
    throw new ModelJsonError(file, 'weightsManifest must be a list of { paths: string[], weights: [...] } groups');
  }
  const entries = (groups as ManifestGroup[]).flatMap((g) => g.weights);
  checkWeightsManifest(specs, entries, file);

  const shards = convertedShardPaths(modelJson, modelJsonPath, file);
  const total = entries.reduce((sum, e) => sum + manifestEntryBytes(e, file), 0);
  let loaded = 0;
  const buffers = await inPool(shards.length, SHARD_READS_IN_FLIGHT, async (i) => {
    const bytes = await source.readBytes(shards[i], { maxBytes: Math.max(0, total - loaded) });
    loaded += bytes.byteLength;
    if (loaded > total) {
      throw new ModelJsonError(file, `the weight shards hold more than the ${total} bytes its weightsManifest describes (at ${shards[i]})`);
    }
    options.onProgress?.(total === 0 ? 1 : loaded / total);
    return bytes;
  });
  if (loaded !== total) {
    throw new ModelJsonError(file, `the weight shards hold ${loaded} bytes but its weightsManifest describes ${total} (truncated or mismatched files)`);
  }
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    weightData.set(b, offset);
    offset += b.byteLength;
  }
  if (shards.length === 0) options.onProgress?.(1);
  checkFiniteManifestWeights(weightData, entries, file);
  const unet = UNet2DModel.fromParsedConfig(config);
  const weights = tf.io.decodeWeights(weightData.buffer, entries);
  try {
    unet.model.loadWeights(weights, true);
  } catch (err) {
    unet.dispose();
    throw err;
  } finally {
    tf.dispose(Object.values(weights));
  }
  return unet;
}

/**
 * A diffusers UNet (`config.json` + one weight file): the config parsed and checked, the weight file read with a cap
 * of what the config can need, decoded by the pure readers of lib/io, its keys and shapes compared with the config
 * (every missing, unexpected and wrongly shaped key reported at once), and only then the model built.
 */
async function loadDiffusersUNet(source: ModelSource, configPath: string, weightsPath: string): Promise<UNet2DModel> {
  const config: UNet2DConfig = parseUNet2DConfig(await source.readJson(configPath), source.describe(configPath));
  const specs = unet2DWeightSpecs(config);
  const file = source.describe(weightsPath);
  const bytes = await source.readBytes(weightsPath, { maxBytes: maxWeightFileBytesFor(parameterCount(specs)) });
  // Each long stage lets the event loop turn every YIELD_INTERVAL_MS, so a signal (SIGTERM mid-convert) is acted on.
  const pause = eventLoopYielder();
  const stateDict = await decodeWeightFileYielding(bytes, file, pause);
  const matched = checkStateDict(specs, stateDict, file);
  for (const [name, tensor] of stateDict) {
    checkFiniteTensor(tensor.data, file, name);
    await pause();
  }
  const unet = UNet2DModel.fromParsedConfig(config);
  try {
    await writeMatchedWeights(unet.model, specs, matched, pause);
  } catch (err) {
    unet.dispose();
    throw err;
  }
  return unet;
}

/**
 * Loads a UNet2DModel from any {@link ModelSource}, in the layout given or the one {@link findUNetLayout} finds:
 * the one loader behind `UNet2DModel.fromPretrained`, `DDIMPipeline.fromPretrained` (folders, Hub ids, URLs),
 * `loadUNetFromUrl` and `loadPipelineFromUrl`.
 *
 * ```ts
 * const unet = await loadUNetFromSource(new HttpModelSource('https://example.com/tiny-random/unet/'));
 * ```
 * @throws a named error ({@link ModelLayoutError}, `ModelSourceError`, `CheckpointError`, `StateDictMismatchError`,
 *   the config's) naming the file or URL, and the key and value where there is one.
 */
export async function loadUNetFromSource(source: ModelSource, layout?: UNetLayout, options: LoadUNetOptions = {}): Promise<UNet2DModel> {
  const found = layout ?? (await findUNetLayout(source));
  return found.format === 'tfjs' ? loadConvertedUNet(source, found.modelJson, options) : loadDiffusersUNet(source, found.config, found.weights);
}

/**
 * `UNet2DModel.fromPretrained`'s loader: a UNet from any location {@link resolveModelSource} accepts, in a bare
 * UNet, pipeline or converted layout.
 *
 * ```ts
 * const unet = await loadUNet('models/tiny-random');
 * ```
 */
export async function loadUNet(location: string, options: LoadPipelineOptions = {}): Promise<UNet2DModel> {
  return loadUNetFromSource(await resolveModelSource(location, options));
}

/** Options of {@link loadUNetFromUrl}. */
export interface LoadUNetFromUrlOptions {
  /** Called with the fraction of weight bytes fetched, from 0 to 1. */
  onProgress?: (fraction: number) => void;
  /** Passed to every `fetch` (headers, credentials, ...). */
  requestInit?: RequestInit;
  /** Replaces the global `fetch` (tests, custom caching). */
  fetchFunc?: typeof fetch;
}

/**
 * Loads a converted UNet (the tfjs LayersModel format written by `UNet2DModel.save` or the `convert` command:
 * `model.json` + weight shards) over HTTP. Works in browsers and in Node 18+ (global `fetch`); reads no files.
 * The same loader as `UNet2DModel.fromPretrained` ({@link loadUNetFromSource}) over an {@link HttpModelSource}.
 *
 * ```js
 * const unet = await loadUNetFromUrl('https://example.com/ddpm-cifar10-32/model.json', {
 *   onProgress: (f) => (bar.value = f),
 * });
 * ```
 * The graph is built from the diffusers config kept in the model.json's metadata; the weights manifest is checked
 * against that config (every name and shape) before a weight is fetched; then the weights are loaded by name.
 *
 * @throws naming the URL when it cannot be fetched, holds no UNet2DModel config, or its weights do not fit.
 */
export async function loadUNetFromUrl(modelJsonUrl: string, options: LoadUNetFromUrlOptions = {}): Promise<UNet2DModel> {
  if (typeof modelJsonUrl !== 'string' || modelJsonUrl.length === 0) {
    throw new TypeError(`loadUNetFromUrl: modelJsonUrl must be the URL of a model.json, got ${JSON.stringify(modelJsonUrl)}`);
  }
  const slash = modelJsonUrl.lastIndexOf('/');
  const file = modelJsonUrl.slice(slash + 1);
  if (file === '' || file.includes('?')) {
    throw new ModelSourceError(modelJsonUrl, 'loadUNetFromUrl takes the URL of a model.json file');
  }
  const source = new HttpModelSource(slash < 0 ? './' : modelJsonUrl.slice(0, slash + 1), options);
  return loadUNetFromSource(source, { format: 'tfjs', modelJson: file }, options);
}
